using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
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

    // ASP.NET Core starts an Activity for each request when this logger is on at all. gateway.json leaves its request lines
    // off (Microsoft.AspNetCore at Warning): it is turned off unless spans are recorded, trace context goes to Webex, or
    // the configuration asks for those lines.
    [Theory]
    [InlineData(null, null, false)]
    [InlineData("Logging:LogLevel:Default", "Warning", false)]
    [InlineData("OTEL_TRACES_SAMPLER", "parentbased_always_on", true)]
    [InlineData("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces", true)]
    [InlineData("Telemetry:PropagateTraceContextToWebex", "true", true)]
    [InlineData("Logging:LogLevel:" + HostingActivity.Category, "Information", true)]
    [InlineData("Logging:LogLevel:Microsoft.AspNetCore", "Debug", true)]
    [InlineData("Logging:Console:LogLevel:Default", "Information", true)]
    public async Task A_request_gets_an_activity_from_the_hosting_layer_only_when_something_reads_it(string? key, string? value, bool started)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(key is null ? null : new Dictionary<string, string?> { [key] = value });
        using var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);

        var hosting = gateway.Services.GetRequiredService<ILoggerFactory>().CreateLogger(HostingActivity.Category);

        Assert.Equal(started, hosting.IsEnabled(LogLevel.Critical));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
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

    /// <summary>Every way of writing <c>/metrics</c> that might reach it from the public port; {0} is the management port.</summary>
    public static TheoryData<string, string> PublicMetricsSpellings => new()
    {
        { "GET /metrics HTTP/1.1", "" },
        { "GET /METRICS HTTP/1.1", "" },
        { "GET /Metrics HTTP/1.1", "" },
        { "GET /metrics/ HTTP/1.1", "" },
        { "GET //metrics HTTP/1.1", "" },
        { "GET /metrics?format=prometheus HTTP/1.1", "" },
        { "GET /%6detrics HTTP/1.1", "" },
        { "GET /%6D%65%74%72%69%63%73 HTTP/1.1", "" },
        { "GET /metrics%2F HTTP/1.1", "" },
        { "GET /./metrics HTTP/1.1", "" },
        { "GET /static/../metrics HTTP/1.1", "" },
        { "GET /metrics;x HTTP/1.1", "" },
        { "HEAD /metrics HTTP/1.1", "" },
        // The management port named where only a client decides it: the Host header, an absolute request target.
        { "GET /metrics HTTP/1.1", "Host: 127.0.0.1:{0}" },
        { "GET /metrics HTTP/1.1", "Host: gateway-1:{0}" },
        { "GET http://127.0.0.1:{0}/metrics HTTP/1.1", "Host: 127.0.0.1:{0}" },
    };

    [Theory]
    [MemberData(nameof(PublicMetricsSpellings))]
    public async Task With_a_management_url_no_spelling_of_metrics_on_the_public_port_is_answered(string requestLine, string hostHeader)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, management) = AddManagedGateway(world);

        var target = requestLine.Replace("{0}", management.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var host = hostHeader.Length == 0 ? $"Host: {gateway.Address.Authority}" : hostHeader.Replace("{0}", management.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var response = await RawHttp.SendAsync(gateway.Address, $"{target}\r\n{host}\r\nConnection: close\r\n\r\n");

        Assert.True(response.Status is 404 or 400, $"{requestLine} answered {response}");
        Assert.DoesNotContain("# TYPE", response.Body);
        Assert.DoesNotContain("webex_gateway_", response.Body);
    }

    [Fact]
    public async Task With_a_management_url_metrics_are_served_on_its_port_only_and_health_stays_on_the_public_port()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, management) = AddManagedGateway(world);
        using var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);

        var scrape = await browser.GetAsync(new Uri(management, "/metrics"));

        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Matches(new Regex("^webex_gateway_sign_ins_total\\{[^}]*outcome=\"success\"[^}]*\\} 1", RegexOptions.Multiline), await scrape.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync(new Uri(gateway.Address, "/metrics"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/healthz"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/readyz"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);

        // The management port is for Prometheus: the gateway's own pages and APIs are not there.
        foreach (var path in new[] { "/", "/index.html", "/auth/user", "/auth/login", "/webex/v1/people/me", "/healthz" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync(new Uri(management, path), csrf: true)).StatusCode);
        }
    }

    [Theory]
    [InlineData("not a url", "true")]
    [InlineData("http://0.0.0.0", "true")]
    [InlineData("https://0.0.0.0:9091", "true")]
    [InlineData("http://0.0.0.0:9091/metrics", "true")]
    [InlineData("http://0.0.0.0:70000", "true")]
    [InlineData("http://0.0.0.0:9091", "false")]
    [InlineData("http://127.0.0.1:28443", "true", "http://127.0.0.1:28443")]
    public async Task A_management_url_that_cannot_serve_metrics_apart_fails_at_start_naming_the_key(string url, string prometheus, string publicUrls = "http://127.0.0.1:0")
    {
        await using var emulator = await Webex.Emulator.WebexEmulator.StartAsync();
        await using var gateway = new GatewayHost(emulator, redis.ConnectionString, RedisFixture.NewKeyPrefix(), settings: new Dictionary<string, string?>
        {
            ["urls"] = publicUrls,
            ["Telemetry:Prometheus"] = prometheus,
            ["Telemetry:ManagementUrl"] = url,
        }, output: output);

        Assert.Contains("Telemetry:ManagementUrl", GatewayHost.StartupFailure(gateway).Message);
    }

    /// <summary>A gateway with Prometheus on a management port of its own, and that port's base URL.</summary>
    private static (GatewayHost Gateway, Uri Management) AddManagedGateway(TestWorld world)
    {
        var port = LoopbackPorts.Free();
        var gateway = world.AddGateway(new Dictionary<string, string?>
        {
            // The public address as an operator gives it (the test host listens on one more of its own).
            ["urls"] = "http://127.0.0.1:0",
            ["Telemetry:Prometheus"] = "true",
            ["Telemetry:ManagementUrl"] = $"http://127.0.0.1:{port}",
        });
        Assert.NotEqual(port, gateway.Address.Port);
        return (gateway, new Uri($"http://127.0.0.1:{port}/"));
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
