using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using WebexGateway.Storage;

namespace WebexGateway.Telemetry;

/// <summary>
/// Ready when the Data Protection key ring is loaded (without it no cookie or grant can be read) and held no key that
/// was refused for lacking a certificate-encrypted secret.
/// </summary>
public sealed class KeyRingHealthCheck(IDataProtectionProvider protection, StoredKeyRing stored) : IHealthCheck
{
    private static readonly byte[] Probe = [1, 2, 3, 4];
    private readonly IDataProtector _protector = protection.CreateProtector("WebexGateway.Health.v1");

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var roundTrip = _protector.Unprotect(_protector.Protect(Probe));
            if (stored.RefusedKeys is { Count: > 0 } refused)
            {
                return Task.FromResult(HealthCheckResult.Unhealthy(
                    $"The key ring holds keys whose secret is not encrypted with the certificate, ignored: {string.Join(", ", refused)}. Remove them from Redis and restart."));
            }

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
