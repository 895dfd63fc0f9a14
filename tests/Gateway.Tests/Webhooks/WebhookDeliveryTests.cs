using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Webex.Emulator;
using WebexGateway.Tests.Infrastructure;
using WebexGateway.Webhooks;
using Xunit.Abstractions;
using static WebexGateway.Tests.Webhooks.WebhookDeliveries;

namespace WebexGateway.Tests.Webhooks;

/// <summary>Webex (the emulator) posting real deliveries to the gateway's public URL.</summary>
[Collection(GatewayCollection.Name)]
public sealed class WebhookDeliveryTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task A_message_posted_at_Webex_reaches_the_persons_events_once_through_a_signed_delivery_and_forgeries_do_not()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser, port) = await SignedInReceivingAsync(world);
        var webhook = world.Webex.WebhooksOf(world.Person.Id).Single(w => w.Resource == "messages" && w.Event == "created");
        Assert.Equal($"http://127.0.0.1:{port}/webhooks/webex", webhook.TargetUrl);

        var roomId = world.Webex.RoomIdsFor(world.Person.Id)[0];
        var posted = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"),
            Browser.Json(JsonSerializer.Serialize(new { roomId, text = "live" })));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        using var message = JsonDocument.Parse(await posted.Content.ReadAsStringAsync());
        var messageId = message.RootElement.GetProperty("id").GetString();

        var delivery = Assert.Single(await world.Webex.WaitForWebhookDeliveriesAsync(webhook.Id, 1));
        Assert.True(delivery.Delivered, $"the gateway answered {delivery.Status}");
        var log = await EventLogAsync(gateway, world.Person.Id);
        var entry = Assert.Single(log);
        using (var json = JsonDocument.Parse(entry[(entry.IndexOf(' ') + 1)..]))
        {
            Assert.Equal("messages", json.RootElement.GetProperty("resource").GetString());
            Assert.Equal(messageId, json.RootElement.GetProperty("data").GetProperty("id").GetString());
        }

        // Webex redelivering the same bytes: answered 2xx, delivered once.
        var again = await world.Webex.RedeliverAsync(delivery);
        Assert.True(again.Delivered, $"the redelivery was answered {again.Status}");

        foreach (var forgery in Enum.GetValues<ForgedDelivery>())
        {
            var forged = await world.Webex.DeliverForgedAsync(webhook.Id, forgery);
            Assert.True(forged.Status is >= 400 and < 500, $"{forgery}: {forged.Status}");
        }

        Assert.Single(await EventLogAsync(gateway, world.Person.Id));
    }

    [Fact]
    public async Task A_room_created_and_renamed_through_the_gateway_reaches_the_persons_events_when_Webex_Events_names_rooms()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser, _) = await SignedInReceivingAsync(world, events: "rooms:created rooms:updated");
        var webhooks = world.Webex.WebhooksOf(world.Person.Id);
        Assert.Equal(["rooms:created", "rooms:updated"], webhooks.Select(w => $"{w.Resource}:{w.Event}").Order().ToArray());

        var created = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/rooms"),
            Browser.Json(JsonSerializer.Serialize(new { title = "Launch" })));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        using var room = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var roomId = room.RootElement.GetProperty("id").GetString()!;
        var renamed = await browser.SendAsync(HttpMethod.Put, new Uri(gateway.Address, "/webex/v1/rooms/" + Uri.EscapeDataString(roomId)),
            Browser.Json(JsonSerializer.Serialize(new { title = "Launch day" })));
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);

        foreach (var webhook in webhooks)
        {
            Assert.True(Assert.Single(await world.Webex.WaitForWebhookDeliveriesAsync(webhook.Id, 1)).Delivered);
        }

        var log = await EventLogAsync(gateway, world.Person.Id);
        Assert.Equal(2, log.Count);
        var events = log.Select(entry => JsonDocument.Parse(entry[(entry.IndexOf(' ') + 1)..]).RootElement).ToList();
        Assert.Equal(["created", "updated"], events.Select(e => e.GetProperty("event").GetString()!).Order().ToArray());
        Assert.All(events, e => Assert.Equal("rooms", e.GetProperty("resource").GetString()));
        Assert.All(events, e => Assert.Equal(roomId, e.GetProperty("data").GetProperty("id").GetString()));
    }

    [Fact]
    public async Task A_webhook_Webex_disabled_after_failed_deliveries_is_reactivated_by_the_check_and_delivers_again()
    {
        await using var world = await TestWorld.StartAsync(redis, output, options => options.DisableWebhookAfterFailures = 2);
        var (gateway, browser, _) = await SignedInReceivingAsync(world);
        var webhook = world.Webex.WebhooksOf(world.Person.Id).Single(w => w.Resource == "messages" && w.Event == "created");
        var store = gateway.Services.GetRequiredService<WebhookStore>();
        var record = (await store.GetAsync(webhook.Id))!;
        var roomId = world.Webex.RoomIdsFor(world.Person.Id)[0];

        // The gateway cannot read the record (its store lost it): each delivery is refused, and Webex disables the webhook.
        await redis.Redis.GetDatabase().KeyDeleteAsync($"{world.KeyPrefix}webhook:{webhook.Id}");
        for (var i = 0; i < 2; i++)
        {
            await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), Browser.Json(JsonSerializer.Serialize(new { roomId, text = $"lost {i}" })));
        }

        await world.Webex.WaitForWebhookDeliveriesAsync(webhook.Id, 2);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (world.Webex.WebhooksOf(world.Person.Id).Single(w => w.Id == webhook.Id).Status != "disabled" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal("disabled", world.Webex.WebhooksOf(world.Person.Id).Single(w => w.Id == webhook.Id).Status);

        // The record back (a store restored), the periodic check reactivates the webhook, and events flow again.
        await store.SaveAsync(record);
        await redis.Redis.GetDatabase().KeyDeleteAsync($"{world.KeyPrefix}webhooks:check:last-run");
        Assert.Equal(1, await gateway.Services.GetRequiredService<WebhookCheck>().RunOnceAsync(CancellationToken.None));
        Assert.Equal("active", world.Webex.WebhooksOf(world.Person.Id).Single(w => w.Id == webhook.Id).Status);
        await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), Browser.Json(JsonSerializer.Serialize(new { roomId, text = "back" })));
        var deliveries = await world.Webex.WaitForWebhookDeliveriesAsync(webhook.Id, 3);
        Assert.True(deliveries[^1].Delivered, $"the gateway answered {deliveries[^1].Status}");
        Assert.Single(await EventLogAsync(gateway, world.Person.Id));
    }

    /// <summary>
    /// A gateway with live events on, signed in, its webhooks made at the emulator: Webex (the emulator) posts to the
    /// gateway's webhook endpoint on a port of its own, which is returned.
    /// </summary>
    private static async Task<(GatewayHost Gateway, Browser Browser, int Port)> SignedInReceivingAsync(TestWorld world, string? events = null)
    {
        var port = LoopbackPorts.Free();
        var settings = LiveEvents();
        settings["Gateway:PublicUrl"] = $"http://127.0.0.1:{port}";
        settings["Kestrel:Endpoints:Webhooks:Url"] = $"http://127.0.0.1:{port}";
        if (events is not null)
        {
            settings[WebhookOptions.EventsKey] = events;
        }

        var (gateway, browser) = await world.SignedInAsync(settings);
        await gateway.Services.GetRequiredService<WebhookLifecycle>().IdleAsync();
        return (gateway, browser, port);
    }
}
