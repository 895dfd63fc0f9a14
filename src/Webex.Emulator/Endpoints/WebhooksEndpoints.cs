using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Http;
using Webex.Emulator.Internal;

namespace Webex.Emulator.Endpoints;

/// <summary>
/// <c>/v1/webhooks</c>. A webhook belongs to the person and the integration whose token created it: other people and
/// other integrations get 404 for it. Creating one needs the read scope of its resource.
/// </summary>
internal static class WebhooksEndpoints
{
    private const int DefaultMax = 100;
    private const int MaxLimit = 1000;
    private const int MaxNameLength = 128;

    /// <summary>The resources the emulator can notify, and the scope a webhook on each needs.</summary>
    private static readonly Dictionary<string, string> ReadScopes = new(StringComparer.Ordinal)
    {
        ["messages"] = "spark:messages_read",
        ["memberships"] = "spark:memberships_read",
        ["rooms"] = "spark:rooms_read",
    };

    private static readonly string[] Events = ["created", "updated", "deleted", "all"];
    private static readonly string[] Statuses = [WebhookStore.Active, "inactive", WebhookStore.Disabled];

    public static void Map(Router router) => router
        .Map(HttpMethods.Get, "v1/webhooks", ListAsync)
        .Map(HttpMethods.Post, "v1/webhooks", CreateAsync)
        .Map(HttpMethods.Get, "v1/webhooks/{}", GetAsync)
        .Map(HttpMethods.Put, "v1/webhooks/{}", UpdateAsync)
        .Map(HttpMethods.Delete, "v1/webhooks/{}", DeleteAsync);

    private static async Task CreateAsync(RequestContext r)
    {
        if (await JsonFields.ReadAsync(r) is not { } body)
        {
            return;
        }

        var name = Name(body);
        var targetUrl = TargetUrl(body);
        var resource = body.String("resource", required: true);
        var @event = body.String("event", required: true);
        var filter = body.String("filter");
        var secret = body.String("secret");
        var ownedBy = body.String("ownedBy");
        string? scope = null;
        if (resource is not null && !ReadScopes.TryGetValue(resource, out scope))
        {
            body.Reject($"resource must be one of {string.Join(", ", ReadScopes.Keys)} (the resources the emulator notifies).");
        }

        if (@event is not null && !Events.Contains(@event, StringComparer.Ordinal))
        {
            body.Reject($"event must be one of {string.Join(", ", Events)}.");
        }

        if (ownedBy is not (null or "creator"))
        {
            body.Reject("ownedBy must be creator: the emulator has no organization-wide webhooks.");
        }

        var parsedFilter = WebhookFilter.TryParse(filter, out var filterError);
        if (filterError is not null)
        {
            body.Reject(filterError);
        }

        if (body.Error is not null)
        {
            await body.BadRequestAsync(r.Http);
            return;
        }

        if (!r.Token.HasScope(scope!))
        {
            await WebexErrors.WriteAsync(
                r.Http, StatusCodes.Status403Forbidden, "The request is understood, but it has been refused or access is not allowed.", $"A webhook on {resource} needs the {scope} scope.");
            return;
        }

        var webhook = r.State.Webhooks.Add(new WebexWebhook(
            WebexIds.Encode("WEBHOOK", Guid.NewGuid()),
            name!,
            targetUrl!,
            resource!,
            @event!,
            filter,
            secret,
            WebhookStore.Active,
            r.State.Data.Now,
            r.Me.OrgId,
            r.Me.Id,
            AppId(r.Token.ClientId),
            "creator")
        {
            ClientId = r.Token.ClientId,
            ParsedFilter = parsedFilter!,
        });
        await WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, webhook);
    }

    private static async Task ListAsync(RequestContext r)
    {
        var query = r.Http.Request.Query;
        if (!QueryParameters.TryGetMax(query, DefaultMax, MaxLimit, out var max))
        {
            await WebexErrors.BadRequestAsync(r.Http, $"max must be an integer between 1 and {MaxLimit}.");
            return;
        }

        if (!QueryParameters.TryGetOptional(query, "cursor", out var cursor)
            || (cursor is not null && !long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            await WebexErrors.BadRequestAsync(r.Http, "The cursor is invalid.");
            return;
        }

        var after = cursor is null ? 0 : long.Parse(cursor, CultureInfo.InvariantCulture);
        var page = r.State.Webhooks.List(r.Token).Where(w => w.Sequence > after).Take(max + 1).ToList();
        if (page.Count > max)
        {
            r.Http.Response.Headers.Link = $"<{r.BaseUrl}/v1/webhooks?max={max}&cursor={page[max - 1].Sequence}>; rel=\"next\"";
            page.RemoveAt(max);
        }

        await WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, new ItemsResponse<WebexWebhook>(page));
    }

    private static Task GetAsync(RequestContext r) =>
        r.State.Webhooks.Get(r.Token, r.Args[0]) is { } webhook
            ? WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, webhook)
            : NotFoundAsync(r);

    private static async Task UpdateAsync(RequestContext r)
    {
        if (r.State.Webhooks.Get(r.Token, r.Args[0]) is null)
        {
            await NotFoundAsync(r);
            return;
        }

        if (await JsonFields.ReadAsync(r) is not { } body)
        {
            return;
        }

        var name = Name(body);
        var targetUrl = TargetUrl(body);
        var secret = body.String("secret");
        var status = body.String("status");
        if (status is not null && !Statuses.Contains(status, StringComparer.Ordinal))
        {
            body.Reject("status must be active (to reactivate a disabled webhook) or inactive.");
        }

        if (body.Error is not null)
        {
            await body.BadRequestAsync(r.Http);
            return;
        }

        var updated = r.State.Webhooks.Update(r.Token, r.Args[0], w => w with
        {
            Name = name!,
            TargetUrl = targetUrl!,
            Secret = secret ?? w.Secret,
            Status = status ?? w.Status,
        });
        await (updated is null ? NotFoundAsync(r) : WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, updated));
    }

    private static Task DeleteAsync(RequestContext r)
    {
        if (!r.State.Webhooks.Delete(r.Token, r.Args[0]))
        {
            return NotFoundAsync(r);
        }

        r.Http.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    private static Task NotFoundAsync(RequestContext r) => WebexErrors.NotFoundAsync(r.Http, "Could not find a webhook with provided ID.");

    private static string? Name(JsonFields body)
    {
        var name = body.String("name", required: true);
        if (name is { Length: > MaxNameLength })
        {
            body.Reject($"name must be at most {MaxNameLength} characters.");
        }

        return name;
    }

    /// <summary>An absolute https URL, or http to a loopback host (development and tests).</summary>
    private static string? TargetUrl(JsonFields body)
    {
        var targetUrl = body.String("targetUrl", required: true);
        if (targetUrl is null)
        {
            return null;
        }

        if (!Uri.TryCreate(targetUrl, UriKind.Absolute, out var uri)
            || !(uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && IsLoopback(uri)))
            || !string.IsNullOrEmpty(uri.UserInfo))
        {
            body.Reject("targetUrl must be an https URL (or http to a loopback address).");
        }

        return targetUrl;
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.DnsSafeHost, out var address) && IPAddress.IsLoopback(address));

    private static string AppId(string clientId) => WebexIds.Encode($"ciscospark://us/APPLICATION/{clientId}");
}
