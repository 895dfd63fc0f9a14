using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WebexGateway.Tests.Infrastructure;
using WebexGateway.Webhooks;
using Xunit.Abstractions;
using static WebexGateway.Tests.Webhooks.WebhookDeliveries;

namespace WebexGateway.Tests.Webhooks;

[Collection(GatewayCollection.Name)]
public sealed class WebhookLifecycleTests(RedisFixture redis, ITestOutputHelper output)
{
    private const string Target = "http://127.0.0.1:1/webhooks/webex";

    [Fact]
    public async Task Two_sign_ins_on_two_instances_at_once_leave_exactly_one_webhook_per_pair_and_a_later_sign_in_keeps_them()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var first = world.AddGateway(LiveEvents());
        var second = world.AddGateway(LiveEvents());

        await Task.WhenAll(world.NewBrowser().SignInAsync(first.Address), world.NewBrowser().SignInAsync(second.Address));
        await IdleAsync(first, second);

        var made = await OursAtWebexAsync(world);
        Assert.Equal(
            ["memberships:created", "memberships:deleted", "messages:created", "messages:deleted"],
            made.Select(w => $"{w.Resource}:{w.Event}").Order().ToArray());
        var store = first.Services.GetRequiredService<WebhookStore>();
        foreach (var webhook in made)
        {
            var record = await store.GetAsync(webhook.Id);
            Assert.NotNull(record);
            Assert.Equal(world.Person.Id, record.PersonId);
            Assert.Equal($"{webhook.Resource}:{webhook.Event}", record.Pair.ToString());
            Assert.True(record.Secret.Length >= 32);
        }

        Assert.Equal(4, made.Select(w => store.GetAsync(w.Id).Result!.Secret).Distinct().Count());

        // Meanwhile somebody made one at the gateway's target whose secret the gateway does not hold, and one elsewhere.
        var stray = await CreateAtWebexAsync(world, Target, "messages", "created");
        var elsewhere = await CreateAtWebexAsync(world, "https://elsewhere.example.com/hook", "messages", "created");

        await Task.WhenAll(world.NewBrowser().SignInAsync(first.Address), world.NewBrowser().SignInAsync(second.Address));
        await IdleAsync(first, second);

        var after = await OursAtWebexAsync(world);
        Assert.Equal(made.Select(w => w.Id).Order(), after.Select(w => w.Id).Order());
        Assert.DoesNotContain(after, w => w.Id == stray);
        Assert.Contains(await AllAtWebexAsync(world), w => w.Id == elsewhere);
        Assert.Equal(4, (await store.IdsOfAsync(world.Person.Id)).Count);
    }

    [Fact]
    public async Task A_pair_whose_read_scope_the_grant_lacks_is_skipped_and_reported_by_auth_user()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(LiveEvents("spark:people_read spark:rooms_read spark:messages_read"));
        var browser = world.NewBrowser();

        await browser.SignInAsync(gateway.Address);
        await IdleAsync(gateway);

        Assert.Equal(["messages:created", "messages:deleted"], (await OursAtWebexAsync(world)).Select(w => $"{w.Resource}:{w.Event}").Order().ToArray());
        using var user = JsonDocument.Parse(await (await browser.GetAsync(new Uri(gateway.Address, "/auth/user"))).Content.ReadAsStringAsync());
        var live = user.RootElement.GetProperty("liveEvents");
        Assert.Equal(["messages:created", "messages:deleted"], live.GetProperty("subscribed").EnumerateArray().Select(e => e.GetString()!).ToArray());
        var skipped = live.GetProperty("skipped").EnumerateArray().ToList();
        Assert.Equal(["memberships:created", "memberships:deleted"], skipped.Select(e => e.GetProperty("event").GetString()!).ToArray());
        Assert.All(skipped, e => Assert.Equal("spark:memberships_read", e.GetProperty("missingScope").GetString()));
    }

    [Fact]
    public async Task Without_a_public_url_no_webhook_is_made_and_auth_user_says_nothing_of_live_events()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var settings = LiveEvents();
        settings.Remove("Gateway:PublicUrl");
        var (gateway, browser) = await world.SignedInAsync(settings);
        await IdleAsync(gateway);

        Assert.Empty(await AllAtWebexAsync(world));
        using var user = JsonDocument.Parse(await (await browser.GetAsync(new Uri(gateway.Address, "/auth/user"))).Content.ReadAsStringAsync());
        Assert.False(user.RootElement.TryGetProperty("liveEvents", out _));
    }

    [Fact]
    public async Task A_logout_deletes_the_persons_webhooks_at_Webex_and_their_records()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var settings = LiveEvents();
        settings["Telemetry:Prometheus"] = "true";
        var (gateway, browser) = await world.SignedInAsync(settings);
        await IdleAsync(gateway);
        var made = await OursAtWebexAsync(world);
        Assert.Equal(4, made.Count);
        var token = world.Webex.LastAccessTokenFor(world.Person.Id)!;

        var logout = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/auth/logout"));
        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        await IdleAsync(gateway);

        Assert.Empty(await OursAtWebexAsync(world, token));
        var store = gateway.Services.GetRequiredService<WebhookStore>();
        Assert.Empty(await store.IdsOfAsync(world.Person.Id));
        foreach (var webhook in made)
        {
            Assert.Null(await store.GetAsync(webhook.Id));
        }

        Assert.DoesNotContain(world.Person.Id, await store.PeopleAsync());
        var metrics = await (await browser.GetAsync(new Uri(gateway.Address, "/metrics"))).Content.ReadAsStringAsync();
        Assert.Matches(@"(?m)^webex_gateway_webhook_calls_total\{[^}]*operation=""create"",outcome=""success""[^}]*\} 4( |$)", metrics);
        Assert.Matches(@"(?m)^webex_gateway_webhook_calls_total\{[^}]*operation=""delete"",outcome=""success""[^}]*\} 4( |$)", metrics);
    }

    [Fact]
    public async Task When_Webex_refuses_the_grant_the_records_are_gone()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(LiveEvents());
        await IdleAsync(gateway);
        var made = await OursAtWebexAsync(world);
        Assert.Equal(4, made.Count);

        world.Webex.RevokeRefreshTokens();
        world.Webex.ExpireAccessTokens();
        var call = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);
        Assert.Equal(HttpStatusCode.Unauthorized, call.StatusCode);
        await IdleAsync(gateway);

        var store = gateway.Services.GetRequiredService<WebhookStore>();
        Assert.Empty(await store.IdsOfAsync(world.Person.Id));
        foreach (var webhook in made)
        {
            Assert.Null(await store.GetAsync(webhook.Id));
        }

        // Webex keeps posting through a webhook the gateway could not delete: each delivery is now refused.
        var forgotten = new WebhookRecord(made[0].Id, world.Person.Id, "any", made[0].Resource!, made[0].Event!);
        var body = Body(forgotten);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(gateway, body, Sign("any", body))).StatusCode);
    }

    [Fact]
    public async Task A_webhook_Webex_disabled_is_reactivated_once_by_the_periodic_check_and_at_the_next_sign_in()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var first = world.AddGateway(LiveEvents());
        var second = world.AddGateway(LiveEvents());
        await world.NewBrowser().SignInAsync(first.Address);
        await IdleAsync(first);
        var made = await OursAtWebexAsync(world);
        var disabled = made.First(w => w.Resource == "messages" && w.Event == "created");
        await SetStatusAtWebexAsync(world, disabled.Id, "disabled");
        var db = redis.Redis.GetDatabase();
        await db.KeyDeleteAsync($"{world.KeyPrefix}webhooks:check:last-run");

        var runs = await Task.WhenAll(
            first.Services.GetRequiredService<WebhookCheck>().RunOnceAsync(CancellationToken.None),
            second.Services.GetRequiredService<WebhookCheck>().RunOnceAsync(CancellationToken.None));

        Assert.Equal(1, runs.Sum());
        Assert.All(await OursAtWebexAsync(world), w => Assert.Equal("active", w.Status));
        Assert.Equal(made.Select(w => w.Id).Order(), (await OursAtWebexAsync(world)).Select(w => w.Id).Order());
        // Within the interval, no instance runs it again.
        Assert.Equal(0, await second.Services.GetRequiredService<WebhookCheck>().RunOnceAsync(CancellationToken.None));

        await SetStatusAtWebexAsync(world, disabled.Id, "disabled");
        await world.NewBrowser().SignInAsync(second.Address);
        await IdleAsync(second);

        Assert.All(await OursAtWebexAsync(world), w => Assert.Equal("active", w.Status));
        // Once by the check, once at the sign-in: never by both instances for one disabling.
        Assert.Equal(2, first.Logs.Concat(second.Logs).Count(line => line.Contains("reactivated", StringComparison.Ordinal) && line.Contains("messages:created", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_reconcile_whose_token_Webex_no_longer_takes_refreshes_it_once_and_finishes()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, _) = await world.SignedInAsync(LiveEvents());
        await IdleAsync(gateway);
        var made = await OursAtWebexAsync(world);
        await SetStatusAtWebexAsync(world, made[0].Id, "disabled");
        world.Webex.ExpireAccessTokens();
        var refreshes = world.Webex.RefreshCalls;

        var reactivated = await gateway.Services.GetRequiredService<WebhookLifecycle>().ReconcileAsync(world.Person.Id, "check", CancellationToken.None);

        Assert.Equal(1, reactivated);
        Assert.Equal(refreshes + 1, world.Webex.RefreshCalls);
        Assert.All(await OursAtWebexAsync(world), w => Assert.Equal("active", w.Status));
    }

    private static async Task IdleAsync(params GatewayHost[] gateways)
    {
        foreach (var gateway in gateways)
        {
            await gateway.Services.GetRequiredService<WebhookLifecycle>().IdleAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    private static async Task<List<WebexWebhook>> OursAtWebexAsync(TestWorld world, string? token = null)
        => (await AllAtWebexAsync(world, token)).Where(w => w.TargetUrl == Target).ToList();

    private static async Task<List<WebexWebhook>> AllAtWebexAsync(TestWorld world, string? token = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(world.Emulator.BaseUrl, "/v1/webhooks?max=1000"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token ?? world.Webex.LastAccessTokenFor(world.Person.Id));
        using var response = await http.SendAsync(request);
        if (response.StatusCode == HttpStatusCode.Unauthorized && token is not null)
        {
            // The token of a deleted grant: nothing of it can be listed any more.
            return [];
        }

        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("items").EnumerateArray()
            .Select(e => JsonSerializer.Deserialize<WebexWebhook>(e.GetRawText())!)
            .ToList();
    }

    private static async Task<string> CreateAtWebexAsync(TestWorld world, string targetUrl, string resource, string @event)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(world.Emulator.BaseUrl, "/v1/webhooks"))
        {
            Content = new StringContent(JsonSerializer.Serialize(new { name = "not the gateway's", targetUrl, resource, @event, secret = "somebody-elses" }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", world.Webex.LastAccessTokenFor(world.Person.Id));
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("id").GetString()!;
    }

    private static async Task SetStatusAtWebexAsync(TestWorld world, string id, string status)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(world.Emulator.BaseUrl, $"/v1/webhooks/{id}"))
        {
            Content = new StringContent(JsonSerializer.Serialize(new { name = "webex-gateway", targetUrl = Target, status }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", world.Webex.LastAccessTokenFor(world.Person.Id));
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }
}
