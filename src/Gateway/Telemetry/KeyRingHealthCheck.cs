using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace WebexGateway.Telemetry;

/// <summary>Ready when the Data Protection key ring is loaded: without it no cookie or grant can be read.</summary>
public sealed class KeyRingHealthCheck(IDataProtectionProvider protection) : IHealthCheck
{
    private static readonly byte[] Probe = [1, 2, 3, 4];
    private readonly IDataProtector _protector = protection.CreateProtector("WebexGateway.Health.v1");

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var roundTrip = _protector.Unprotect(_protector.Protect(Probe));
            return Task.FromResult(roundTrip.AsSpan().SequenceEqual(Probe)
                ? HealthCheckResult.Healthy("The key ring is loaded.")
                : HealthCheckResult.Unhealthy("The key ring gave back something else."));
        }
        catch (Exception e) when (e is CryptographicException or InvalidOperationException or StackExchange.Redis.RedisException)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"The key ring cannot be loaded ({e.GetType().Name})."));
        }
    }
}
