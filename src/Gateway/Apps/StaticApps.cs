using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;

namespace WebexGateway.Apps;

public static class StaticApps
{
    /// <summary>
    /// Serves each <c>Gateway:StaticApps</c> entry's folder under its path. Being same-origin with <c>/webex/*</c>, such an
    /// app shares the user's one sign-in and needs no CORS; its pages call the gateway like the demo app does.
    /// </summary>
    public static IApplicationBuilder UseStaticApps(this WebApplication app)
    {
        foreach (var (_, settings) in app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.StaticApps)
        {
            app.UseFileServer(new FileServerOptions
            {
                RequestPath = settings.RequestPath,
                FileProvider = new PhysicalFileProvider(Path.GetFullPath(settings.Folder, app.Environment.ContentRootPath)),
                EnableDefaultFiles = true,
            });
        }

        return app;
    }
}
