using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using WebexGateway.Telemetry;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Telemetry;

[Collection(GatewayCollection.Name)]
public sealed class TelemetryTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task A_refresh_on_401_is_one_trace_with_the_gateways_spans_and_the_counters_move()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        await using var world = await TestWorld.StartAsync(redis, output);
        // A sampler named turns tracing on for the exporter added here, Prometheus turns metrics on; without them (and without
        // an OTLP endpoint) no span is made and no metric collected.
        var sampled = new Dictionary<string, string?> { ["OTEL_TRACES_SAMPLER"] = "parentbased_always_on", ["Telemetry:Prometheus"] = "true" };
        await using var gateway = new GatewayHost(world.Emulator, redis.ConnectionString, world.KeyPrefix, settings: sampled, services: services =>
        {
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans));
            services.ConfigureOpenTelemetryMeterProvider(meters => meters.AddInMemoryExporter(metrics));
        }, output: output);
        using var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);
        world.Webex.ExpireAccessTokens();
        world.Webex.Reset();
        var incoming = ActivityTraceId.CreateRandom();

        var response = await browser.SendAsync(HttpMethod.Get, new Uri(gateway.Address, "/webex/v1/people/me"),
            headers: h => h.Add("traceparent", $"00-{incoming}-{ActivitySpanId.CreateRandom()}-01"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        gateway.Services.GetRequiredService<TracerProvider>().ForceFlush();
        gateway.Services.GetRequiredService<MeterProvider>().ForceFlush();
        Activity[] trace;
        lock (spans)
        {
            trace = spans.Where(s => s.TraceId == incoming).ToArray();
        }

        // The frontend's traceparent is honoured: the whole call is one trace under it.
        var server = Assert.Single(trace, s => s.Kind == ActivityKind.Server && s.Source.Name == "Microsoft.AspNetCore");
        Assert.Contains(trace, s => s.Source.Name == "Yarp.ReverseProxy");
        Assert.Equal("/webex/{**path}", server.GetTagItem("http.route"));
        Assert.Equal(200, server.GetTagItem("http.response.status_code"));
        Assert.Equal(GatewayMetrics.UserPseudonym(world.Person.Id), server.GetTagItem("enduser.pseudo.id"));
        Assert.StartsWith("ROUTER_", (string)server.GetTagItem("webex.tracking_id")!);

        var lookup = Assert.Single(trace, s => s.DisplayName == "grant.lookup");
        Assert.True(IsDescendant(lookup, server, trace));
        var refresh = Assert.Single(trace, s => s.DisplayName == "grant.refresh");
        Assert.Equal("unauthorized", refresh.GetTagItem("webex_gateway.refresh.trigger"));
        Assert.Equal("refreshed", refresh.GetTagItem("webex_gateway.refresh.outcome"));
        Assert.True(IsDescendant(refresh, server, trace));
        var replay = Assert.Single(trace, s => s.DisplayName == "webex.replay");
        Assert.Equal("succeeded", replay.GetTagItem("webex_gateway.replay.outcome"));

        var outbound = trace.Where(s => s.Kind == ActivityKind.Client && s.Source.Name.StartsWith("System.Net.Http", StringComparison.Ordinal)).ToArray();
        var apiCalls = outbound.Where(s => ((string?)s.GetTagItem("url.full"))?.Contains("/v1/people/me", StringComparison.Ordinal) == true).ToArray();
        Assert.Equal(2, apiCalls.Length);
        Assert.Equal([401, 200], apiCalls.OrderBy(s => s.StartTimeUtc).Select(s => (int)s.GetTagItem("http.response.status_code")!));
        Assert.All(apiCalls, s => Assert.StartsWith("ROUTER_", (string)s.GetTagItem("webex.tracking_id")!));
        Assert.True(IsDescendant(apiCalls.OrderBy(s => s.StartTimeUtc).Last(), replay, trace));
        var tokenCall = Assert.Single(outbound, s => ((string?)s.GetTagItem("url.full"))?.Contains("/v1/access_token", StringComparison.Ordinal) == true);
        Assert.True(IsDescendant(tokenCall, refresh, trace));

        // No trace context reached Webex: the trace stays the gateway's business.
        Assert.All(world.Webex.Requests, r => Assert.False(r.Headers.ContainsKey("traceparent")));

        Assert.Equal(1, Sum(metrics, "webex_gateway.sign_ins", ("outcome", "success")));
        Assert.Equal(1, Sum(metrics, "webex_gateway.token_refreshes", ("trigger", "unauthorized"), ("outcome", "refreshed")));
        Assert.Equal(1, Sum(metrics, "webex_gateway.replays", ("outcome", "succeeded")));
        Assert.Equal(1, Sum(metrics, "webex_gateway.upstream_responses", ("status_class", "4xx")));
        Assert.Equal(1, Sum(metrics, "webex_gateway.upstream_responses", ("status_class", "2xx")));
    }

    [Fact]
    public async Task With_propagation_turned_on_webex_receives_the_trace_context()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?> { ["Telemetry:PropagateTraceContextToWebex"] = "true" });
        world.Webex.Reset();
        var incoming = ActivityTraceId.CreateRandom();

        await browser.SendAsync(HttpMethod.Get, new Uri(gateway.Address, "/webex/v1/people/me"),
            headers: h => h.Add("traceparent", $"00-{incoming}-{ActivitySpanId.CreateRandom()}-01"));

        var received = Assert.Single(world.Webex.Requests);
        Assert.StartsWith($"00-{incoming}-", received.Headers["traceparent"]);
    }

    [Fact]
    public async Task Metrics_are_served_in_prometheus_format_with_every_documented_name_after_a_flow()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?> { ["Telemetry:Prometheus"] = "true" });
        var api = new Uri(gateway.Address, "/webex/v1/people/me");
        world.Webex.ExpireAccessTokens();
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(api, csrf: true)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.GetAsync(api, csrf: false)).StatusCode);

        var scrape = await browser.GetAsync(new Uri(gateway.Address, "/metrics"));

        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        var text = await scrape.Content.ReadAsStringAsync();
        var sample = new Regex(@"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*=""([^""\\]|\\.)*"",?)*\})? [-+]?([0-9.eE+-]+|Inf|NaN)( [0-9]+)?$");
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.True(line.StartsWith('#') || sample.IsMatch(line), $"not Prometheus text: {line}");
        }

        foreach (var name in new[]
        {
            "webex_gateway_sign_ins_total", "webex_gateway_token_refreshes_total", "webex_gateway_token_refresh_duration_seconds_bucket",
            "webex_gateway_replays_total", "webex_gateway_requests_rejected_total", "webex_gateway_upstream_responses_total",
            "webex_gateway_grants", "webex_gateway_ready", "http_server_request_duration_seconds_bucket", "http_client_request_duration_seconds_bucket",
            "kestrel_active_connections",
        })
        {
            Assert.Matches(new Regex($"^{name}[{{ ]", RegexOptions.Multiline), text);
        }

        Assert.Matches(new Regex("^webex_gateway_requests_rejected_total\\{[^}]*reason=\"csrf\"[^}]*\\} 1", RegexOptions.Multiline), text);
        foreach (var secret in world.Webex.IssuedSecrets)
        {
            Assert.DoesNotContain(secret, text);
        }
    }

    private static bool IsDescendant(Activity span, Activity ancestor, IReadOnlyCollection<Activity> trace)
    {
        var byId = trace.ToDictionary(s => s.SpanId);
        for (var current = span; current is not null; current = byId.GetValueOrDefault(current.ParentSpanId))
        {
            if (current.ParentSpanId == ancestor.SpanId)
            {
                return true;
            }
        }

        return false;
    }

    private static long Sum(List<Metric> metrics, string name, params (string Key, string Value)[] tags)
    {
        long total = 0;
        lock (metrics)
        {
            foreach (var metric in metrics.Where(m => m.Name == name))
            {
                foreach (ref readonly var point in metric.GetMetricPoints())
                {
                    var pointTags = new Dictionary<string, object?>();
                    foreach (var tag in point.Tags)
                    {
                        pointTags[tag.Key] = tag.Value;
                    }

                    if (tags.All(t => Equals(pointTags.GetValueOrDefault(t.Key), t.Value)))
                    {
                        total += point.GetSumLong();
                    }
                }
            }
        }

        return total;
    }
}
