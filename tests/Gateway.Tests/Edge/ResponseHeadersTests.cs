using System.Net;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Edge;

[Collection(GatewayCollection.Name)]
public sealed class ResponseHeadersTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task Every_answer_is_nosniff_whether_proxied_replayed_static_refused_or_not_found()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var api = new Uri(gateway.Address, "/webex/v1/people/me");
        using var anonymous = world.NewBrowser();

        var answers = new List<(string Name, HttpResponseMessage Response, HttpStatusCode Expected)>
        {
            ("proxied", await browser.GetAsync(api, csrf: true), HttpStatusCode.OK),
            ("proxied page", await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/rooms?max=1"), csrf: true), HttpStatusCode.OK),
            ("csrf refused", await browser.GetAsync(api), HttpStatusCode.Forbidden),
            ("login required", await anonymous.GetAsync(api, csrf: true), HttpStatusCode.Unauthorized),
            ("dot segments refused", await browser.GetAsync(new Uri(gateway.Address, "/webex/v1%2F%2e%2e%2Fx"), csrf: true), HttpStatusCode.BadRequest),
            ("demo app", await browser.GetAsync(new Uri(gateway.Address, "/")), HttpStatusCode.OK),
            ("client helper", await browser.GetAsync(new Uri(gateway.Address, "/webex-gateway.js")), HttpStatusCode.OK),
            ("not found", await browser.GetAsync(new Uri(gateway.Address, "/nothing-here")), HttpStatusCode.NotFound),
            ("health", await browser.GetAsync(new Uri(gateway.Address, "/healthz")), HttpStatusCode.OK),
            ("user", await browser.GetAsync(new Uri(gateway.Address, "/auth/user")), HttpStatusCode.OK),
        };
        world.Webex.ExpireAccessTokens();
        answers.Add(("replayed after a 401", await browser.GetAsync(api, csrf: true), HttpStatusCode.OK));
        Assert.Equal(1, world.Webex.RefreshCalls);
        world.Webex.ExpireAccessTokens();
        world.Webex.TokenFault = Webex.Emulator.TokenEndpointFault.ServerError;
        answers.Add(("refresh failed after a 401", await browser.GetAsync(api, csrf: true), HttpStatusCode.ServiceUnavailable));
        world.Webex.TokenFault = Webex.Emulator.TokenEndpointFault.None;

        foreach (var (name, response, expected) in answers)
        {
            Assert.True(response.StatusCode == expected, $"{name}: {(int)response.StatusCode}");
            Assert.True(response.Headers.TryGetValues("X-Content-Type-Options", out var values), $"{name}: no X-Content-Type-Options");
            Assert.Equal(["nosniff"], values);
        }
    }

    [Fact]
    public async Task Every_auth_answer_is_no_store_and_its_pages_cannot_be_framed()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();
        var at = (string path) => new Uri(gateway.Address, path);

        var answers = new List<(string Name, HttpResponseMessage Response, HttpStatusCode Expected)>
        {
            ("user without a session", await browser.GetAsync(at("/auth/user")), HttpStatusCode.Unauthorized),
            ("return address refused", await browser.GetAsync(at("/auth/login?returnUrl=%2F%2Fevil.example")), HttpStatusCode.BadRequest),
            ("scope refused", await browser.GetAsync(at("/auth/login?scope=spark:all")), HttpStatusCode.BadRequest),
            ("forged callback", await browser.GetAsync(at("/auth/callback?code=x&state=forged")), HttpStatusCode.BadRequest),
            ("logout without csrf", await browser.SendAsync(HttpMethod.Post, at("/auth/logout"), csrf: false), HttpStatusCode.Forbidden),
        };
        var login = await browser.GetAsync(at("/auth/login?returnUrl=%2Fapp"));
        answers.Add(("login", login, HttpStatusCode.Found));
        var consent = await browser.GetAsync(login.Headers.Location!);
        answers.Add(("callback", await browser.GetAsync(consent.Headers.Location!), HttpStatusCode.Found));
        answers.Add(("user", await browser.GetAsync(at("/auth/user")), HttpStatusCode.OK));
        answers.Add(("logout", await browser.SendAsync(HttpMethod.Post, at("/auth/logout")), HttpStatusCode.NoContent));

        foreach (var (name, response, expected) in answers)
        {
            Assert.True(response.StatusCode == expected, $"{name}: {(int)response.StatusCode}");
            Assert.True(response.Headers.CacheControl?.NoStore == true, $"{name}: Cache-Control is '{response.Headers.CacheControl}'");
            Assert.Equal(["nosniff"], response.Headers.GetValues("X-Content-Type-Options"));
            if (response.Content.Headers.ContentType?.MediaType == "text/html")
            {
                Assert.True(response.Headers.TryGetValues("Content-Security-Policy", out var policy), $"{name}: an HTML page without a Content-Security-Policy");
                Assert.Equal(["frame-ancestors 'none'"], policy);
            }
        }

        Assert.Contains(answers, a => a.Response.Content.Headers.ContentType?.MediaType == "text/html");
    }

    [Fact]
    public async Task The_demo_app_may_be_framed_by_the_gateway_only()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();

        foreach (var path in new[] { "/", "/index.html" })
        {
            var page = await browser.GetAsync(new Uri(gateway.Address, path));

            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Equal(["frame-ancestors 'self'"], page.Headers.GetValues("Content-Security-Policy"));
            Assert.Equal(["nosniff"], page.Headers.GetValues("X-Content-Type-Options"));
        }
    }
}
