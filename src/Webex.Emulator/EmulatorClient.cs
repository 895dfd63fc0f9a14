namespace Webex.Emulator;

/// <summary>An OAuth integration registered with the emulator.</summary>
public sealed record EmulatorClient(string ClientId, string ClientSecret);
