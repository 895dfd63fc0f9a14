using System.Text.Json;

namespace WebexGateway.Events;

/// <summary>
/// One verified Webex webhook delivery, addressed to the person whose webhook it came through. <see cref="Id"/> names the
/// event itself, so a redelivery of it has the same id.
/// </summary>
public sealed record WebexEvent(string PersonId, string Id, string Resource, string Event, string? ActorId, string? Created, JsonElement Data);
