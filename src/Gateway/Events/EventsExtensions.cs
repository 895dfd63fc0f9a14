using Microsoft.Extensions.Options;
using WebexGateway.Apps;
using WebexGateway.Grants;

namespace WebexGateway.Events;

public static class EventsExtensions
{
    /// <summary>Live events: each person's event log, its fan-out to every instance, and the browsers' event streams.</summary>
    public static IHostApplicationBuilder AddLiveEvents(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<PersonEvents>();
        services.AddOptions<EventStreamOptions>().BindConfiguration(EventStreamOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EventStreamOptions>, EventStreamOptionsValidation>();
        services.AddSingleton<StreamSlots>();
        services.AddSingleton<EventFanOut>();
        services.AddSingleton<IGrantFollower>(sp => sp.GetRequiredService<EventFanOut>());
        services.AddSingleton<EventStreamEndpoint>();
        return builder;
    }

    public static IEndpointRouteBuilder MapLiveEvents(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(EventStreamEndpoint.Path, (HttpContext context, EventStreamEndpoint stream) => stream.HandleAsync(context))
            .RequireCors(GatewayCors.PolicyName);
        return endpoints;
    }
}
