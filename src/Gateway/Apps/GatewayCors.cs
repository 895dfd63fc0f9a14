using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;

namespace WebexGateway.Apps;

/// <summary>
/// Cross-origin frontends: the origins in <c>Gateway:AllowedOrigins</c> may call <c>/auth/*</c> and the Webex routes
/// with credentials and the <c>X-CSRF</c> header, and open WebSockets on app routes (<see cref="WebSocketOrigins"/>). No
/// origin is allowed unless listed, and never <c>*</c>.
/// </summary>
public static class GatewayCors
{
    public const string PolicyName = "webex-gateway-frontends";

    /// <summary>What a frontend may send: every method a Webex API call uses.</summary>
    public static readonly string[] Methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

    /// <summary>What a frontend may send besides the CORS-safelisted headers.</summary>
    public static readonly string[] Headers = [Auth.CsrfHeader.Name, "Content-Type"];

    /// <summary>What a frontend's script may read besides the CORS-safelisted response headers: pagination, support ids, back-off.</summary>
    public static readonly string[] ExposedHeaders = ["Link", "TrackingID", "Retry-After"];

    /// <summary>How long a browser may cache a preflight's answer.</summary>
    public static readonly TimeSpan PreflightMaxAge = TimeSpan.FromMinutes(10);

    public static IHostApplicationBuilder AddGatewayCors(this IHostApplicationBuilder builder)
    {
        builder.Services.AddCors();
        builder.Services.AddSingleton<WebSocketOrigins>();
        builder.Services.AddOptions<CorsOptions>()
            .Configure<IOptions<GatewayOptions>>((options, gateway) => options.AddPolicy(PolicyName, policy => policy
                .WithOrigins([.. gateway.Value.AllowedOrigins.Select(o => o.Trim().TrimEnd('/'))])
                .AllowCredentials()
                .WithMethods(Methods)
                .WithHeaders(Headers)
                .WithExposedHeaders(ExposedHeaders)
                .SetPreflightMaxAge(PreflightMaxAge)));
        return builder;
    }

    /// <summary>
    /// ASP.NET Core's CORS middleware with its policy provider resolved once. <c>UseCors()</c> has the middleware ask the
    /// request's services for it on every request, CORS or not, and that opens a service scope per request, which nothing
    /// else on a proxied call needs. The provider reads the policies from options, the same for every request.
    /// </summary>
    public static IApplicationBuilder UseGatewayCors(this IApplicationBuilder app)
    {
        var policies = app.ApplicationServices.GetRequiredService<ICorsPolicyProvider>();
        var cors = app.ApplicationServices.GetRequiredService<ICorsService>();
        var loggers = app.ApplicationServices.GetRequiredService<ILoggerFactory>();
        return app.Use(next =>
        {
            var middleware = new CorsMiddleware(next, cors, loggers);
            return context => middleware.Invoke(context, policies);
        });
    }
}
