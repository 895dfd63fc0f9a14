using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using WebexGateway.Telemetry;
using WebexGateway.Tests.Infrastructure;
using WebexGateway.Webhooks;
using Xunit.Abstractions;
using static WebexGateway.Tests.Webhooks.WebhookDeliveries;

namespace WebexGateway.Tests.Webhooks;

[Collection(GatewayCollection.Name)]
public sealed class WebhookReceiverTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task A_signed_delivery_is_appended_to_its_persons_events_once_and_a_redelivery_is_answered_2xx_but_not_appended_again()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(LiveEvents());
        var record = await SeedAsync(gateway, world.Person.Id);
        var body = Body(record);

        var first = await PostAsync(gateway, body, Sign(record.Secret, body));
        var again = await PostAsync(gateway, body, Sign(record.Secret, body));

        Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
        var log = await EventLogAsync(gateway, world.Person.Id);
        var entry = Assert.Single(log);
        using var json = JsonDocument.Parse(entry[(entry.IndexOf(' ') + 1)..]);
        Assert.Equal("messages", json.RootElement.GetProperty("resource").GetString());
        Assert.Equal("created", json.RootElement.GetProperty("event").GetString());
        Assert.Equal("actor-1", json.RootElement.GetProperty("actorId").GetString());
        Assert.Equal("msg-1", json.RootElement.GetProperty("data").GetProperty("id").GetString());

        // Another message through the same webhook is another event.
        var other = Body(record, dataId: "msg-2");
        Assert.Equal(HttpStatusCode.NoContent, (await PostAsync(gateway, other, Sign(record.Secret, other))).StatusCode);
        Assert.Equal(2, (await EventLogAsync(gateway, world.Person.Id)).Count);
    }

    [Fact]
    public async Task The_event_goes_to_the_person_of_the_webhooks_record_whatever_the_body_says()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(LiveEvents());
        var record = await SeedAsync(gateway, world.Person.Id);
        var victim = $"victim-{Guid.NewGuid():N}";
        var body = Body(record, actorId: victim, extraData: $",\"personEmail\":\"x@example.com\",\"ownerId\":\"{victim}\"")
            .Replace("\"createdBy\":\"someone-else\"", $"\"createdBy\":\"{victim}\"", StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NoContent, (await PostAsync(gateway, body, Sign(record.Secret, body))).StatusCode);

        Assert.Single(await EventLogAsync(gateway, world.Person.Id));
        Assert.Empty(await EventLogAsync(gateway, victim));
    }

    [Fact]
    public void Event_ids_are_the_same_for_a_redelivery_and_differ_for_another_event()
    {
        var id = WebhookReceiver.EventId("hook", "messages", "created", "m1", "2026-01-01T00:00:00Z");
        Assert.Equal(id, WebhookReceiver.EventId("hook", "messages", "created", "m1", "2026-01-01T00:00:00Z"));
        Assert.NotEqual(id, WebhookReceiver.EventId("hook", "messages", "deleted", "m1", "2026-01-01T00:00:00Z"));
        Assert.NotEqual(id, WebhookReceiver.EventId("hook", "messages", "created", "m2", "2026-01-01T00:00:00Z"));
        Assert.NotEqual(id, WebhookReceiver.EventId("other", "messages", "created", "m1", "2026-01-01T00:00:00Z"));
        Assert.NotEqual(id, WebhookReceiver.EventId("hook", "messages", "created", "m1", "2026-01-01T00:00:01Z"));
    }

    [Fact]
    public async Task With_the_store_down_a_delivery_is_503_with_Retry_After_and_the_redelivery_after_it_is_back_is_appended()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        using var relay = RedisRelay.Start(redis.ConnectionString);
        var gateway = world.AddGateway(LiveEvents(), redis: relay.ConnectionString);
        var record = await SeedAsync(gateway, world.Person.Id);
        var body = Body(record);

        relay.CutOff();
        var started = Stopwatch.GetTimestamp();
        var down = await PostAsync(gateway, body, Sign(record.Secret, body));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.True(down.Headers.RetryAfter is not null, "Retry-After");
        Assert.Contains("temporarily_unavailable", await down.Content.ReadAsStringAsync());
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10));

        relay.Restore();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        HttpResponseMessage back;
        do
        {
            await Task.Delay(200);
            back = await PostAsync(gateway, body, Sign(record.Secret, body));
        }
        while (back.StatusCode == HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.NoContent, back.StatusCode);
        Assert.Single(await EventLogAsync(gateway, world.Person.Id));
    }

    [Fact]
    public async Task Only_POST_is_answered_and_it_needs_neither_a_session_nor_X_CSRF()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(LiveEvents());
        using var http = new HttpClient();

        var get = await http.GetAsync(new Uri(gateway.Address, "/webhooks/webex"));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Contains("method_not_allowed", await get.Content.ReadAsStringAsync());
        Assert.Equal("POST", string.Join(",", get.Content.Headers.Allow));
    }

    [Fact]
    public async Task A_receipt_is_a_span_under_the_request_and_each_outcome_is_counted()
    {
        var spans = new List<Activity>();
        await using var world = await TestWorld.StartAsync(redis, output);
        var settings = LiveEvents();
        settings["OTEL_TRACES_SAMPLER"] = "parentbased_always_on";
        settings["Telemetry:Prometheus"] = "true";
        await using var gateway = new GatewayHost(world.Emulator, redis.ConnectionString, world.KeyPrefix, settings: settings,
            services: services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans)), output: output);
        var record = await SeedAsync(gateway, world.Person.Id);
        var body = Body(record);

        Assert.Equal(HttpStatusCode.NoContent, (await PostAsync(gateway, body, Sign(record.Secret, body))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await PostAsync(gateway, body, Sign(record.Secret, body))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync(gateway, body, Sign("not-the-secret", body))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(gateway, body, null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(gateway, body.Replace(record.WebhookId, "hook-unknown", StringComparison.Ordinal), "x")).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await PostAsync(gateway, body, Sign(record.Secret, body), "text/plain")).StatusCode);

        gateway.Services.GetRequiredService<TracerProvider>().ForceFlush();
        Activity[] receipts;
        lock (spans)
        {
            receipts = spans.Where(s => s.DisplayName == "webhook.receive").ToArray();
        }

        Assert.Equal(2, receipts.Length);
        foreach (var receipt in receipts)
        {
            Assert.Equal("messages", receipt.GetTagItem("webex.webhook.resource"));
            Assert.Equal(GatewayMetrics.UserPseudonym(world.Person.Id), receipt.GetTagItem("enduser.pseudo.id"));
            lock (spans)
            {
                Assert.Contains(spans, s => s.Kind == ActivityKind.Server && s.SpanId == receipt.ParentSpanId && s.TraceId == receipt.TraceId);
            }
        }

        Assert.Equal(["delivered", "duplicate"], receipts.Select(r => (string)r.GetTagItem("webex_gateway.webhook.outcome")!).Order().ToArray());
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri(gateway.Address, "/metrics"));
        foreach (var (outcome, count) in new[] { ("delivered", 1), ("duplicate", 1), ("bad_signature", 2), ("unknown", 1), ("refused", 1) })
        {
            Assert.Matches(new Regex($@"(?m)^webex_gateway_webhooks_received_total\{{[^}}]*outcome=""{outcome}""[^}}]*\}} {count}( |$)"), metrics);
        }

        Assert.DoesNotContain(record.Secret, metrics, StringComparison.Ordinal);
    }
}
