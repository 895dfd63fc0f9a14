using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace WebexGateway.Allocations;

/// <summary>The gateway on Kestrel at 127.0.0.1 in this process, with the published gateway's settings (Production, logging at Warning).</summary>
internal sealed class InProcessGateway : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    public InProcessGateway(int port, IDictionary<string, string?> settings)
    {
        Url = $"http://127.0.0.1:{port}";
        _settings = new Dictionary<string, string?>(settings) { ["Webex:RedirectUri"] = $"{Url}/auth/callback" };
        UseKestrel(options => options.Listen(IPAddress.Loopback, port));
    }

    public string Url { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }
}
