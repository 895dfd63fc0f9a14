using System.Net;
using System.Text;

namespace WebexGateway.Allocations;

/// <summary>
/// The upstream of every target, in this process: <c>GET /v1/people/me</c> answered with a fixed Webex person (the body
/// nginx serves in <c>run.sh</c>), whatever the Bearer, from bytes encoded once. Sign-in reads the person from it too.
/// </summary>
internal sealed class FixedUpstream : IAsyncDisposable
{
    public const string PersonId = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS80YjljNmQzZS0yZjhhLTRlNzEtOWMxNS03ZDBhM2U1YjhmMjE";

    private static readonly byte[] Person = Encoding.UTF8.GetBytes(
        "{\"id\":\"" + PersonId + "\",\"emails\":[\"ada.lovelace@example.com\"],"
        + "\"phoneNumbers\":[{\"type\":\"work\",\"value\":\"+1 408 555 0100\",\"primary\":true}],"
        + "\"displayName\":\"Ada Lovelace\",\"nickName\":\"Ada\",\"firstName\":\"Ada\",\"lastName\":\"Lovelace\","
        + "\"orgId\":\"Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi85NmFiYzJhYS0zZGNjLTExZTUtYTE1Mi1mZTM0ODE5Y2RjOWE\","
        + "\"created\":\"2015-10-18T14:26:16.000Z\",\"status\":\"active\",\"type\":\"person\"}");

    private readonly WebApplication _app;

    private FixedUpstream(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    public static async Task<FixedUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var port = Benchmarks.Ports.Free();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.MapGet("/v1/people/me", context =>
        {
            context.Response.ContentType = "application/json;charset=UTF-8";
            context.Response.Headers["TrackingID"] = "ROUTER_fixed";
            context.Response.ContentLength = Person.Length;
            return context.Response.Body.WriteAsync(Person).AsTask();
        });
        await app.StartAsync();
        return new FixedUpstream(app, $"http://127.0.0.1:{port}");
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
