using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.Primitives;

namespace WebexGateway.Edge;

/// <summary>
/// <c>X-Content-Type-Options: nosniff</c> on every answer; on <c>/auth/*</c> also <c>Cache-Control: no-store</c> (a sign-in
/// answer, a user's details or a refusal is never kept by a cache) and <c>frame-ancestors 'none'</c> (no site frames the
/// sign-in pages). The demo app's pages may be framed by the gateway only. Static values, set once: nothing is allocated
/// per request.
/// </summary>
public sealed class SecurityHeaders(RequestDelegate next)
{
    public static readonly StringValues NoSniff = new("nosniff");
    private static readonly StringValues NoStore = new("no-store");
    private static readonly StringValues NeverFramed = new("frame-ancestors 'none'");
    private static readonly StringValues FramedBySelf = new("frame-ancestors 'self'");
    private static readonly PathString Auth = new("/auth");

    public Task InvokeAsync(HttpContext context)
    {
        Apply(context);
        return next(context);
    }

    /// <summary>Also called by whatever writes an answer after clearing the response (which drops the headers set before).</summary>
    public static void Apply(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = NoSniff;
        if (context.Request.Path.StartsWithSegments(Auth))
        {
            headers.CacheControl = NoStore;
            headers.ContentSecurityPolicy = NeverFramed;
        }
    }

    /// <summary>An HTML page of the demo app (wwwroot).</summary>
    public static void OnStaticFile(StaticFileResponseContext context)
    {
        if (context.File.Name.EndsWith(".html", StringComparison.OrdinalIgnoreCase) || context.File.Name.EndsWith(".htm", StringComparison.OrdinalIgnoreCase))
        {
            context.Context.Response.Headers.ContentSecurityPolicy = FramedBySelf;
        }
    }
}
