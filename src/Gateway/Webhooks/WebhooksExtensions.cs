using Microsoft.Extensions.Options;
using WebexGateway.Grants;

namespace WebexGateway.Webhooks;

public static class WebhooksExtensions
{
    /// <summary>
    /// Webex webhooks: <c>Gateway:PublicUrl</c> and <c>Webex:Events</c>, each person's webhooks following their grant, the
    /// periodic check that reactivates disabled ones, and the receiver.
    /// </summary>
    public static IHostApplicationBuilder AddWebexWebhooks(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<WebhookOptions>()
            .Configure<IConfiguration>((options, configuration) =>
            {
                options.PublicUrl = configuration[WebhookOptions.PublicUrlKey];
                options.Events = configuration[WebhookOptions.EventsKey] ?? WebhookOptions.DefaultEvents;
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidation>();
        services.AddSingleton<WebhookTarget>();
        services.AddSingleton<WebhookStore>();
        services.AddSingleton<WebexWebhooks>();
        services.AddSingleton<WebhookLifecycle>();
        services.AddSingleton<IGrantFollower>(sp => sp.GetRequiredService<WebhookLifecycle>());
        services.AddSingleton<WebhookCheck>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookCheck>());
        services.AddSingleton<WebhookReceiver>();
        return builder;
    }

    public static IEndpointRouteBuilder MapWebexWebhooks(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(WebhookTarget.Path, (HttpContext context, WebhookReceiver receiver) => receiver.ReceiveAsync(context));
        endpoints.MapMethods(WebhookTarget.Path, [HttpMethods.Get, HttpMethods.Head, HttpMethods.Put, HttpMethods.Patch, HttpMethods.Delete, HttpMethods.Options],
            () => Refusals.Refuse.WebhookMethodNotAllowed);
        return endpoints;
    }
}
