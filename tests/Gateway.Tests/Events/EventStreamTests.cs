using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WebexGateway.Auth;
using WebexGateway.Events;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Events;

/// <summary>
/// <c>GET /events</c> against the real store, with events appended through the gateways' own <see cref="PersonEvents"/>
/// as the webhook receiver appends them, and two instances on one Redis where it matters.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class EventStreamTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task An_event_is_written_as_id_event_and_one_line_of_json_with_headers_that_keep_proxies_from_buffering()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        await using var stream = await EventStreamClient.OpenAsync(browser, gateway);

        Assert.Equal(HttpStatusCode.OK, stream.Status);
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no", Assert.Single(stream.Response.Headers.GetValues("X-Accel-Buffering")));
        Assert.True(stream.Response.Headers.CacheControl?.NoCache);
        var opening = await stream.NextAsync();
        Assert.Equal("0", opening.Id);
        Assert.Null(opening.Event);

        Assert.True(await AppendAsync(world, gateway, "event-1", """{"id":"message-1","roomId":"room-1","text":"line one\nline two"}"""));
        var frame = await stream.NextEventAsync();
        Assert.Equal(["data", "event", "id"], frame.Lines.Select(l => l.Field).Order());
        Assert.Equal("1", frame.Id);
        Assert.Equal("messages.created", frame.Event);
        var json = frame.Json;
        Assert.Equal(["resource", "event", "actorId", "created", "data"], json.EnumerateObject().Select(p => p.Name));
        Assert.Equal("messages", json.GetProperty("resource").GetString());
        Assert.Equal("created", json.GetProperty("event").GetString());
        Assert.Equal("actor-1", json.GetProperty("actorId").GetString());
        Assert.Equal("2026-12-04T10:00:00.000Z", json.GetProperty("created").GetString());
        Assert.Equal("message-1", json.GetProperty("data").GetProperty("id").GetString());
        Assert.Equal("line one\nline two", json.GetProperty("data").GetProperty("text").GetString());

        // A redelivery of the same event is not appended again, so nothing more is written.
        Assert.False(await AppendAsync(world, gateway, "event-1", """{"id":"message-1"}"""));
        Assert.True(await AppendAsync(world, gateway, "event-2", """{"id":"message-2"}"""));
        Assert.Equal("2", (await stream.NextEventAsync()).Id);

        // No token of any kind in what the browser received.
        Assert.NotEmpty(world.Webex.IssuedSecrets);
        foreach (var secret in world.Webex.IssuedSecrets)
        {
            Assert.DoesNotContain(secret, stream.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Each_event_reaches_the_persons_streams_on_both_instances_once_and_in_order()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var first = world.AddGateway();
        var second = world.AddGateway();
        var browser = world.NewBrowser();
        await browser.SignInAsync(first.Address);
        await using var onFirst = await EventStreamClient.OpenAsync(browser, first);
        await using var alsoOnFirst = await EventStreamClient.OpenAsync(browser, first);
        await using var onSecond = await EventStreamClient.OpenAsync(browser, second);
        foreach (var stream in new[] { onFirst, alsoOnFirst, onSecond })
        {
            Assert.Equal(HttpStatusCode.OK, stream.Status);
            await stream.NextAsync();
        }

        // Appended on either instance, concurrently: what the webhook receivers behind a load balancer do.
        await Task.WhenAll(Enumerable.Range(1, 20).Select(i => AppendAsync(world, i % 2 == 0 ? first : second, $"event-{i}", $$"""{"n":{{i}}}""")));

        foreach (var stream in new[] { onFirst, alsoOnFirst, onSecond })
        {
            var positions = new List<long>();
            for (var i = 0; i < 20; i++)
            {
                positions.Add((await stream.NextEventAsync()).Position);
            }

            Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), positions);
            Assert.Null(await stream.NextOrNoneAsync(TimeSpan.FromMilliseconds(300)));
            Assert.Equal(20, System.Text.RegularExpressions.Regex.Matches(stream.Text, "^event: ", System.Text.RegularExpressions.RegexOptions.Multiline).Count);
        }
    }

    /// <summary>
    /// Two instances behind the compose stack's nginx (deploy/nginx/nginx.conf): a person's tabs land on both, and each tab
    /// gets each event once, in order and at once (a buffered stream would hold the small events back: nginx's location
    /// turns buffering off, and so does the gateway's <c>X-Accel-Buffering: no</c>).
    /// </summary>
    [SkippableFact]
    public async Task Through_the_compose_stacks_nginx_tabs_on_both_instances_each_get_each_event_once_and_at_once()
    {
        var nginx = SystemBinaries.Find("nginx") ?? (File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : null)
                    ?? throw SystemBinaries.Missing("no nginx on PATH or at /usr/sbin/nginx", "apt-get install -y nginx");
        await using var world = await TestWorld.StartAsync(redis, output);
        var metrics = new Dictionary<string, string?> { ["Telemetry:Prometheus"] = "true" };
        var first = world.AddGateway(metrics);
        var second = world.AddGateway(metrics);
        var browser = world.NewBrowser();
        await browser.SignInAsync(first.Address);
        await using var edge = await Apps.AppWebSocketTests.NginxEdge.StartAsync(nginx, [first.Address, second.Address], output);

        var tabs = new List<EventStreamClient>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var tab = await EventStreamClient.OpenAsync(browser, edge.Address);
                tabs.Add(tab);
                Assert.Equal(HttpStatusCode.OK, tab.Status);
                await tab.NextAsync();
            }

            // nginx takes turns: the tabs are on both instances.
            Assert.True(await OpenStreamsAsync(browser, first) > 0, "no tab reached the first instance");
            Assert.True(await OpenStreamsAsync(browser, second) > 0, "no tab reached the second instance");

            for (var i = 1; i <= 5; i++)
            {
                await AppendAsync(world, i % 2 == 0 ? first : second, $"event-{i}", "{}");
                foreach (var tab in tabs)
                {
                    Assert.Equal(i, (await tab.NextEventAsync(TimeSpan.FromSeconds(3))).Position);
                }
            }

            foreach (var tab in tabs)
            {
                Assert.Null(await tab.NextOrNoneAsync(TimeSpan.FromMilliseconds(300)));
            }
        }
        finally
        {
            foreach (var tab in tabs)
            {
                await tab.DisposeAsync();
            }
        }
    }

    private static async Task<double> OpenStreamsAsync(Browser browser, GatewayHost gateway)
    {
        var metrics = await (await browser.GetAsync(new Uri(gateway.Address, "/metrics"))).Content.ReadAsStringAsync();
        var line = metrics.Split('\n').Single(l => l.StartsWith("webex_gateway_event_streams", StringComparison.Ordinal));
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    // The header is what a browser's EventSource sends when it reconnects by itself; the query is how webex-gateway.js
    // resumes a stream it had to open anew (an EventSource cannot be given the header).
    [Theory]
    [InlineData("header")]
    [InlineData("query")]
    public async Task Last_event_id_resumes_on_the_other_instance_with_nothing_lost_or_repeated(string carriedIn)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var first = world.AddGateway();
        var second = world.AddGateway();
        var browser = world.NewBrowser();
        await browser.SignInAsync(first.Address);
        var onFirst = await EventStreamClient.OpenAsync(browser, first);
        await onFirst.NextAsync();
        for (var i = 1; i <= 3; i++)
        {
            await AppendAsync(world, first, $"event-{i}", "{}");
        }

        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(i, (await onFirst.NextEventAsync()).Position);
        }

        await onFirst.DisposeAsync();

        // While the browser reconnects, more arrive.
        for (var i = 4; i <= 6; i++)
        {
            await AppendAsync(world, first, $"event-{i}", "{}");
        }

        await using var onSecond = carriedIn == "header"
            ? await EventStreamClient.OpenAsync(browser, second, headers => headers.Add("Last-Event-ID", "3"))
            : await EventStreamClient.OpenAsync(browser, second, path: "/events?lastEventId=3");
        Assert.Equal(HttpStatusCode.OK, onSecond.Status);
        Assert.Equal("3", (await onSecond.NextAsync()).Id);
        await AppendAsync(world, second, "event-7", "{}");
        var positions = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            positions.Add((await onSecond.NextEventAsync()).Position);
        }

        Assert.Equal([4L, 5, 6, 7], positions);
        Assert.Null(await onSecond.NextOrNoneAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Theory]
    [InlineData("cross-site", null, HttpStatusCode.Forbidden)]
    [InlineData("same-site", null, HttpStatusCode.Forbidden)]
    [InlineData("cross-site", "https://evil.example", HttpStatusCode.Forbidden)]
    [InlineData("same-site", "https://other.app.example", HttpStatusCode.Forbidden)]
    [InlineData("cross-site", "https://app.example", HttpStatusCode.OK)]
    [InlineData("same-origin", null, HttpStatusCode.OK)]
    [InlineData("none", null, HttpStatusCode.OK)]
    [InlineData(null, null, HttpStatusCode.OK)]
    public async Task Another_sites_page_is_refused_unless_its_origin_is_allowed(string? site, string? origin, HttpStatusCode expected)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?> { ["Gateway:AllowedOrigins:0"] = "https://app.example" });
        await using var stream = await EventStreamClient.OpenAsync(browser, gateway, headers =>
        {
            if (site is not null)
            {
                headers.Add("Sec-Fetch-Site", site);
            }

            if (origin is not null)
            {
                headers.Add("Origin", origin);
            }
        });

        Assert.Equal(expected, stream.Status);
        if (expected == HttpStatusCode.Forbidden)
        {
            await AssertRefusalAsync(stream.Response, "origin_not_allowed");
        }
        else if (origin is not null)
        {
            // The allowed origin's EventSource (withCredentials) may read the stream.
            Assert.Equal(origin, Assert.Single(stream.Response.Headers.GetValues("Access-Control-Allow-Origin")));
            Assert.Equal("true", Assert.Single(stream.Response.Headers.GetValues("Access-Control-Allow-Credentials")));
        }
    }

    [Fact]
    public async Task Without_a_session_it_is_401_login_required()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        await using var stream = await EventStreamClient.OpenAsync(world.NewBrowser(), gateway);

        Assert.Equal(HttpStatusCode.Unauthorized, stream.Status);
        await AssertRefusalAsync(stream.Response, "login_required");
    }

    [Fact]
    public async Task The_eleventh_stream_over_two_instances_is_429_and_a_closed_streams_slot_is_free_again()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var first = world.AddGateway();
        var second = world.AddGateway();
        var browser = world.NewBrowser();
        await browser.SignInAsync(first.Address);
        var streams = new List<EventStreamClient>();
        try
        {
            for (var i = 0; i < 10; i++)
            {
                var stream = await EventStreamClient.OpenAsync(browser, i % 2 == 0 ? first : second);
                streams.Add(stream);
                Assert.Equal(HttpStatusCode.OK, stream.Status);
            }

            foreach (var gateway in new[] { first, second })
            {
                await using var eleventh = await EventStreamClient.OpenAsync(browser, gateway);
                Assert.Equal(HttpStatusCode.TooManyRequests, eleventh.Status);
                await AssertRefusalAsync(eleventh.Response, "too_many_streams");
                Assert.NotNull(eleventh.Response.Headers.RetryAfter);
            }

            await streams[0].DisposeAsync();
            streams.RemoveAt(0);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (true)
            {
                var again = await EventStreamClient.OpenAsync(browser, second);
                if (again.Status == HttpStatusCode.OK)
                {
                    streams.Add(again);
                    break;
                }

                await again.DisposeAsync();
                Assert.True(DateTime.UtcNow < deadline, "the closed stream's slot was not given back within 10 s");
                await Task.Delay(100);
            }

            await using var overAgain = await EventStreamClient.OpenAsync(browser, first);
            Assert.Equal(HttpStatusCode.TooManyRequests, overAgain.Status);
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_logout_on_one_instance_ends_the_persons_stream_on_the_other_with_session_ended()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var first = world.AddGateway();
        var second = world.AddGateway();
        var browser = world.NewBrowser();
        await browser.SignInAsync(first.Address);
        await using var onSecond = await EventStreamClient.OpenAsync(browser, second);
        await onSecond.NextAsync();

        Assert.Equal(HttpStatusCode.NoContent, (await browser.SendAsync(HttpMethod.Post, new Uri(first.Address, "/auth/logout"))).StatusCode);

        var ended = await onSecond.NextEventAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("session_ended", ended.Event);
        await onSecond.Closed.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_comment_every_15_seconds_keeps_the_stream_open_and_a_session_that_ended_ends_it()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?> { ["Session:IdleTimeout"] = "00:01:00" }, time);
        await using var stream = await EventStreamClient.OpenAsync(browser, gateway);
        await stream.NextAsync();

        time.Advance(TimeSpan.FromSeconds(14));
        Assert.Null(await stream.NextOrNoneAsync(TimeSpan.FromMilliseconds(300)));
        time.Advance(TimeSpan.FromSeconds(1));
        var comment = await stream.NextAsync();
        Assert.True(comment.IsComment, stream.Text);
        Assert.Contains("\n: keep-alive\n\n", stream.Text, StringComparison.Ordinal);

        // The session's idle timeout passes with only the stream open: the next keep-alive finds it ended.
        for (var i = 0; i < 2; i++)
        {
            time.Advance(TimeSpan.FromSeconds(15));
            Assert.True((await stream.NextAsync()).IsComment, stream.Text);
        }

        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("session_ended", (await stream.NextEventAsync()).Event);
        await stream.Closed.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    /// <remarks>
    /// A call renews the session (sliding) 1:45 after sign-in, so the session itself expires at 3:45; the stream, the only
    /// activity from then on, ends at the first keep-alive once the absolute lifetime (3:00) has run out.
    /// </remarks>
    [Fact]
    public async Task A_stream_ends_at_its_sessions_absolute_lifetime_though_a_renewal_left_the_session_unexpired()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (gateway, browser) = await world.SignedInAsync(
            new Dictionary<string, string?> { ["Session:IdleTimeout"] = "00:02:00", ["Session:AbsoluteLifetime"] = "00:03:00" }, time);
        await using var stream = await EventStreamClient.OpenAsync(browser, gateway);
        await stream.NextAsync();

        for (var beat = 1; beat <= 7; beat++)
        {
            time.Advance(EventStreamEndpoint.KeepAliveInterval);
            Assert.True((await stream.NextAsync()).IsComment, stream.Text);
        }

        var renewed = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);
        Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        Assert.Contains(renewed.Headers.GetValues("Set-Cookie"), c => c.StartsWith($"{AuthExtensions.SessionCookieName}=", StringComparison.Ordinal));

        for (var beat = 8; beat <= 11; beat++)
        {
            time.Advance(EventStreamEndpoint.KeepAliveInterval);
            Assert.True((await stream.NextAsync()).IsComment, stream.Text);
        }

        time.Advance(EventStreamEndpoint.KeepAliveInterval);
        Assert.Equal("session_ended", (await stream.NextEventAsync()).Event);
        await stream.Closed.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task While_the_store_is_down_open_streams_stay_open_new_ones_are_503_and_when_it_is_back_nothing_is_missed()
    {
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var cut = world.AddGateway(time: time, redis: relay.ConnectionString);
        var other = world.AddGateway();
        var browser = world.NewBrowser();
        await browser.SignInAsync(cut.Address);
        await using var stream = await EventStreamClient.OpenAsync(browser, cut);
        await stream.NextAsync();
        await AppendAsync(world, other, "event-1", "{}");
        Assert.Equal(1, (await stream.NextEventAsync()).Position);

        relay.CutOff();
        await AppendAsync(world, other, "event-2", "{}");
        await AppendAsync(world, other, "event-3", "{}");
        await using (var refused = await EventStreamClient.OpenAsync(browser, cut))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
            await AssertRefusalAsync(refused.Response, "temporarily_unavailable");
        }

        // Still open: the keep-alive goes on without the store.
        time.Advance(TimeSpan.FromSeconds(15));
        Assert.True((await stream.NextAsync()).IsComment, stream.Text);

        relay.Restore();
        await AppendAsync(world, other, "event-4", "{}");
        var positions = new List<long>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (positions.Count < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, $"after the store came back the stream got only {string.Join(", ", positions)}:\n{stream.Text}");
            switch (await stream.NextOrNoneAsync(TimeSpan.FromSeconds(1)))
            {
                case { Event: not null } frame:
                    Assert.True(frame.Id is not null, stream.Text);
                    positions.Add(frame.Position);
                    break;
                case null:
                    // Nothing for a second: let a keep-alive come, in case the reconnection was not heard.
                    time.Advance(TimeSpan.FromSeconds(15));
                    break;
            }
        }

        Assert.Equal([2L, 3, 4], positions);
        Assert.False(stream.Closed.Task.IsCompleted);
        Assert.DoesNotContain(cut.Logs, line => line.Contains("fail", StringComparison.OrdinalIgnoreCase) && line.Contains("Unhandled", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_delivery_is_counted_timed_from_the_receipt_and_traced_as_a_span_linked_to_the_receipts_trace()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var meters = gateway.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var measurements = new System.Collections.Concurrent.ConcurrentQueue<(string Name, double Value)>();
        using var meterListener = new System.Diagnostics.Metrics.MeterListener();
        meterListener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name.StartsWith("webex_gateway.event", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meterListener.SetMeasurementEventCallback<long>((instrument, value, _, _) => measurements.Enqueue((instrument.Name, value)));
        meterListener.SetMeasurementEventCallback<double>((instrument, value, _, _) => measurements.Enqueue((instrument.Name, value)));
        meterListener.Start();
        var spans = new System.Collections.Concurrent.ConcurrentQueue<System.Diagnostics.Activity>();
        using var activityListener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == "WebexGateway",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => spans.Enqueue(activity),
        };
        System.Diagnostics.ActivitySource.AddActivityListener(activityListener);

        await using var stream = await EventStreamClient.OpenAsync(browser, gateway);
        await stream.NextAsync();
        meterListener.RecordObservableInstruments();
        Assert.Contains(measurements, m => m is { Name: "webex_gateway.event_streams", Value: 1 });

        // The receiver appends inside its receipt's activity.
        var receipt = new System.Diagnostics.Activity("webhook receipt").SetIdFormat(System.Diagnostics.ActivityIdFormat.W3C).Start();
        try
        {
            await AppendAsync(world, gateway, "event-1", "{}");
        }
        finally
        {
            receipt.Stop();
        }

        Assert.Equal("1", (await stream.NextEventAsync()).Id);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!spans.Any(s => s.OperationName == "events.deliver") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        var delivery = Assert.Single(spans, s => s.OperationName == "events.deliver");
        Assert.Equal(receipt.TraceId, Assert.Single(delivery.Links).Context.TraceId);
        Assert.NotEqual(receipt.TraceId, delivery.TraceId);
        Assert.Equal("messages.created", delivery.GetTagItem("webex_gateway.event.type"));
        Assert.Contains(measurements, m => m is { Name: "webex_gateway.events_delivered", Value: 1 });
        var duration = Assert.Single(measurements, m => m.Name == "webex_gateway.event_delivery.duration").Value;
        Assert.InRange(duration, 0, 5);

        await stream.DisposeAsync();
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (true)
        {
            measurements.Clear();
            meterListener.RecordObservableInstruments();
            if (measurements.Contains(("webex_gateway.event_streams", 0)))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the closed stream is still counted as open");
            await Task.Delay(50);
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("many")]
    public async Task A_max_streams_per_person_below_one_or_not_a_number_stops_the_gateway_naming_the_key(string value)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        await using var gateway = new GatewayHost(world.Emulator, redis.ConnectionString, world.KeyPrefix,
            settings: new Dictionary<string, string?> { ["Gateway:Events:MaxStreamsPerPerson"] = value }, output: output);

        var failure = Record.Exception(() => gateway.StartServer());
        Assert.NotNull(failure);
        Assert.Contains("MaxStreamsPerPerson", failure.ToString(), StringComparison.Ordinal);
    }

    private static Task<bool> AppendAsync(TestWorld world, GatewayHost gateway, string id, string data) =>
        gateway.Services.GetRequiredService<PersonEvents>().AppendAsync(
            new WebexEvent(world.Person.Id, id, "messages", "created", "actor-1", "2026-12-04T10:00:00.000Z", JsonDocument.Parse(data).RootElement));

    private static async Task AssertRefusalAsync(HttpResponseMessage response, string error)
    {
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(error, json.RootElement.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("message").GetString()));
    }
}
