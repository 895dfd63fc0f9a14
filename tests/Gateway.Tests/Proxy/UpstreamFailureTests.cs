using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Proxy;

[Collection(GatewayCollection.Name)]
public sealed class UpstreamFailureTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task Webex_refusing_connections_is_a_502_json()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (_, browser) = await world.SignedInAsync();
        using var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var cutOff = world.AddGateway(new Dictionary<string, string?> { ["Webex:ApiUrl"] = $"http://127.0.0.1:{port}" });

        var response = await browser.GetAsync(new Uri(cutOff.Address, "/webex/v1/rooms"), csrf: true);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("upstream_unavailable", json.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Webex_accepting_but_never_answering_is_a_504_json_within_the_configured_timeout()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (_, browser) = await world.SignedInAsync();
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<TcpClient>();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    accepted.Add(await silent.AcceptTcpClientAsync());
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        });
        var stuck = world.AddGateway(new Dictionary<string, string?>
        {
            ["Webex:ApiUrl"] = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}",
            ["ReverseProxy:Clusters:webex:HttpRequest:ActivityTimeout"] = "00:00:02",
        });

        var started = Stopwatch.StartNew();
        var response = await browser.GetAsync(new Uri(stuck.Address, "/webex/v1/rooms"), csrf: true);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
        using (var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()))
        {
            Assert.Equal("upstream_unavailable", json.RootElement.GetProperty("error").GetString());
        }

        silent.Stop();
        await accepting;
        accepted.ForEach(c => c.Dispose());
    }
}
