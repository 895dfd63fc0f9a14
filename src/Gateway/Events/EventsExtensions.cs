namespace WebexGateway.Events;

public static class EventsExtensions
{
    /// <summary>Live events: each person's event log, its fan-out to every instance, and the browsers' event streams.</summary>
    public static IHostApplicationBuilder AddLiveEvents(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<PersonEvents>();
        return builder;
    }

    public static IEndpointRouteBuilder MapLiveEvents(this IEndpointRouteBuilder endpoints) => endpoints;
}
