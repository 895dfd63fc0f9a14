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
        builder.Services.AddOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>()
            .Configure<IOptions<GatewayOptions>>((options, gateway) => options.AddPolicy(PolicyName, policy => policy
                .WithOrigins([.. gateway.Value.AllowedOrigins.Select(o => o.Trim().TrimEnd('/'))])
                .AllowCredentials()
                .WithMethods(Methods)
                .WithHeaders(Headers)
                .WithExposedHeaders(ExposedHeaders)
                .SetPreflightMaxAge(PreflightMaxAge)));
        return builder;
    }
}
