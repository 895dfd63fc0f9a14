using System.Text;
using Microsoft.AspNetCore.Http;
using static System.Net.WebUtility;

namespace Webex.Emulator.Internal;

/// <summary>The pages a browser sees during authorization.</summary>
internal static class HtmlPages
{
    public static Task ErrorAsync(HttpContext context, string error, string explanation) =>
        WriteAsync(context, StatusCodes.Status400BadRequest, $"""
            <h1>Something went wrong</h1>
            <p>The application's authorization request is invalid: <code>{HtmlEncode(error)}</code>.</p>
            <p>{HtmlEncode(explanation)}</p>
            <p>You have not been redirected back to the application. Contact its developer.</p>
            """);

    public static Task ConsentAsync(HttpContext context, EmulatorSettings settings, AuthorizationRequest request, string consentId)
    {
        var scopes = new StringBuilder();
        foreach (var scope in request.Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            scopes.Append("    <li>").Append(HtmlEncode(scope)).Append("</li>\n");
        }

        var id = HtmlEncode(consentId);
        var person = settings.FindById(request.PersonId);
        return WriteAsync(context, StatusCodes.Status200OK, $"""
            <h1>Allow access to your Webex account?</h1>
            <p>Signed in as <strong id="person">{HtmlEncode(person?.DisplayName ?? "")} &lt;{HtmlEncode(person?.Email ?? "")}&gt;</strong>.</p>
            <p>The application <strong id="client-id">{HtmlEncode(request.ClientId)}</strong> is requesting permission to:</p>
            <ul id="scopes">
            {scopes}</ul>
            <p>You will be redirected to <code>{HtmlEncode(request.RedirectUri)}</code>.</p>
            <form id="accept" method="post" action="/v1/authorize/decision">
              <input type="hidden" name="consent_id" value="{id}">
              <input type="hidden" name="decision" value="accept">
              <button type="submit">Accept</button>
            </form>
            <form id="decline" method="post" action="/v1/authorize/decision">
              <input type="hidden" name="consent_id" value="{id}">
              <input type="hidden" name="decision" value="decline">
              <button type="submit">Decline</button>
            </form>
            """);
    }

    private static async Task WriteAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.XFrameOptions = "DENY";
        context.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'";
        var page = $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>Webex</title>
            <style>body { font-family: sans-serif; max-width: 40em; margin: 3em auto; } form { display: inline-block; margin-right: 1em; }</style>
            </head>
            <body>
            {{body}}
            </body>
            </html>

            """;
        await context.Response.WriteAsync(page, Encoding.UTF8, context.RequestAborted);
    }
}
