using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace WebexGateway.Telemetry;

/// <summary>OpenTelemetry and health endpoints, the same for every gateway instance.</summary>
public static class ServiceDefaults
{
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });
        builder.Services.AddLogRedaction();

        var telemetry = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<TelemetryOptions>, TelemetryOptionsValidation>();
        builder.AddManagementEndpoint(telemetry);
        builder.Services.AddSingleton<GatewayMetrics>();

        var otlpEndpoint = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("webex-gateway"));

        // Nothing is measured for nobody: metrics are collected for Prometheus or OTLP only (an unheard counter costs nothing).
        if (telemetry.Prometheus || otlpEndpoint)
        {
            otel.WithMetrics(metrics =>
            {
                metrics
                    .AddMeter(GatewayTelemetry.SourceName, "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime")
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation();
                if (telemetry.Prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            });
        }

        // Spans nobody receives are not made at all: tracing is on when an OTLP endpoint is set, or when a sampler is
        // named (OTEL_TRACES_SAMPLER, for an exporter added in code). The SDK then samples as OTEL_TRACES_SAMPLER and
        // OTEL_TRACES_SAMPLER_ARG say, parent-based by default.
        var exportsTraces = otlpEndpoint
            || !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]);
        var recordsTraces = exportsTraces || !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_TRACES_SAMPLER"]);
        if (recordsTraces)
        {
            builder.Services.PostConfigure<TelemetryOptions>(options => options.RecordsTraces = true);
            otel.WithTracing(tracing => tracing
                .AddSource(GatewayTelemetry.SourceName, "Yarp.ReverseProxy")
                .AddAspNetCoreInstrumentation(options => options.Filter = context => !IsHealthProbe(context.Request.Path))
                .AddHttpClientInstrumentation(options => options.EnrichWithHttpResponseMessage = (activity, response) =>
                {
                    // Webex's TrackingID on the outbound span: a support case names it, the trace is found by it.
                    if (response.Headers.TryGetValues("TrackingID", out var trackingIds))
                    {
                        activity.SetTag("webex.tracking_id", trackingIds.FirstOrDefault());
                    }
                })
                .AddRedisInstrumentation());
        }

        HostingActivity.TurnOffWhereUnread(builder.Logging, builder.Configuration, recordsTraces, telemetry.PropagateTraceContextToWebex);

        // OTLP only where a collector is configured; without one nothing leaves the process.
        if (otlpEndpoint)
        {
            otel.UseOtlpExporter();
        }

        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), tags: ["live"])
            .AddCheck<RedisHealthCheck>("redis", tags: ["ready"])
            .AddCheck<KeyRingHealthCheck>("key-ring", tags: ["ready"]);
        return builder;
    }

    public static IEndpointRouteBuilder MapDefaultEndpoints(this IEndpointRouteBuilder app)
    {
        // With a management URL, /metrics is served on its port only (ManagementEndpoint), never here.
        var telemetry = app.ServiceProvider.GetRequiredService<IOptions<TelemetryOptions>>().Value;
        if (telemetry.Prometheus && string.IsNullOrWhiteSpace(telemetry.ManagementUrl))
        {
            app.MapPrometheusScrapingEndpoint("/metrics");
        }

        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("live"), ResponseWriter = WriteJsonAsync });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready"), ResponseWriter = WriteJsonAsync });
        return app;
    }

    private static bool IsHealthProbe(PathString path)
        => path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/metrics");

    private static Task WriteJsonAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new { status = entry.Value.Status.ToString(), description = entry.Value.Description }),
        }));
    }
}
