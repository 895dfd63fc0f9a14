using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using WebexGateway.Telemetry;

namespace WebexGateway.Auth;

/// <summary><c>Gateway:SignInLimit</c>: what one client address may do per window on one instance.</summary>
public sealed class SignInLimitOptions
{
    public const string Section = "Gateway:SignInLimit";

    /// <summary>Sign-in starts (<c>/auth/login</c>).</summary>
    public int PermitLimit { get; set; } = 10;

    /// <summary>Callbacks that failed for the client's fault: each may have cost a call to Webex's token endpoint.</summary>
    public int FailedCallbackLimit { get; set; } = 5;

    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}

internal sealed class SignInLimitOptionsValidation : IValidateOptions<SignInLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, SignInLimitOptions options)
    {
        var errors = new List<string>();
        if (options.PermitLimit < 1)
        {
            errors.Add($"Gateway:SignInLimit:PermitLimit must be at least 1 (got {options.PermitLimit}).");
        }

        if (options.FailedCallbackLimit < 1)
        {
            errors.Add($"Gateway:SignInLimit:FailedCallbackLimit must be at least 1 (got {options.FailedCallbackLimit}).");
        }

        if (options.Window <= TimeSpan.Zero || options.Window > TimeSpan.FromDays(1))
        {
            errors.Add($"Gateway:SignInLimit:Window must be more than zero and at most one day (got {options.Window}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// Anonymous callers cannot make the gateway spend its client secret at will: per client address, sign-in starts go
/// through ASP.NET Core's rate limiter (policy <see cref="StartPolicy"/>), and callbacks are refused once the address has
/// failed <see cref="SignInLimitOptions.FailedCallbackLimit"/> of them in the window, before any code is exchanged.
/// Successful callbacks cost nothing. The address is the connection's peer, or what a known proxy says it is.
/// </summary>
public sealed class SignInLimits : IDisposable
{
    public const string StartPolicy = "webex-gateway-sign-in-starts";

    private readonly SignInLimitOptions _options;
    private readonly TimeProvider _time;
    private readonly GatewayMetrics _metrics;
    private readonly PartitionedRateLimiter<HttpContext> _failedCallbacks;

    public SignInLimits(IOptions<SignInLimitOptions> options, TimeProvider time, GatewayMetrics metrics)
    {
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        _failedCallbacks = PartitionedRateLimiter.Create<HttpContext, IPAddress>(context =>
            RateLimitPartition.Get(ClientOf(context), _ => new SignInWindow(_options.FailedCallbackLimit, _options.Window, _time)));
    }

    /// <summary>The sign-in starts of the request's client address.</summary>
    public RateLimitPartition<IPAddress> StartsOf(HttpContext context) =>
        RateLimitPartition.Get(ClientOf(context), _ => new SignInWindow(_options.PermitLimit, _options.Window, _time));

    /// <summary>Whether the client may still call back; looking takes nothing from its allowance.</summary>
    public bool MayCallBack(HttpContext context, out RateLimitLease refusal)
    {
        refusal = _failedCallbacks.AttemptAcquire(context, 0);
        return refusal.IsAcquired;
    }

    public void CallbackFailed(HttpContext context) => _failedCallbacks.AttemptAcquire(context).Dispose();

    /// <summary>429 with <c>Retry-After</c>, as the page every other refusal of a sign-in is.</summary>
    public Task RefuseAsync(HttpContext context, RateLimitLease lease)
    {
        var seconds = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
            ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))
            : (int)Math.Ceiling(_options.Window.TotalSeconds);
        lease.Dispose();
        _metrics.Rejected("sign_in_limited");
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return AuthPages.Page(
                StatusCodes.Status429TooManyRequests,
                "Too many sign-in attempts",
                $"Too many sign-ins were started or failed from your address in a short time. Please wait {seconds} seconds, then sign in again.")
            .ExecuteAsync(context);
    }

    /// <summary>The client's address; an IPv6 client is its /64, which one subscriber is usually given whole.</summary>
    public static IPAddress ClientOf(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }

    public void Dispose() => _failedCallbacks.Dispose();
}

/// <summary>ASP.NET Core's rate limiter's view of <see cref="SignInLimits"/>: the partition of a start, and its 429.</summary>
internal sealed class SignInStartPolicy(SignInLimits limits) : IRateLimiterPolicy<IPAddress>
{
    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } =
        (context, _) => new ValueTask(limits.RefuseAsync(context.HttpContext, context.Lease));

    public RateLimitPartition<IPAddress> GetPartition(HttpContext httpContext) => limits.StartsOf(httpContext);
}

/// <summary>
/// A fixed window on the gateway's <see cref="TimeProvider"/> (System.Threading.RateLimiting's own windows run on the
/// system clock): so many permits per window, no queue; a refused lease says when the window ends. A window that has
/// ended is idle, so the partitioned limiter drops it and memory stays bounded by the addresses seen lately.
/// </summary>
internal sealed class SignInWindow(int permitLimit, TimeSpan window, TimeProvider time) : RateLimiter
{
    private static readonly RateLimitLease Granted = new Lease(true, null);

    private readonly Lock _gate = new();
    private DateTimeOffset _ends = DateTimeOffset.MinValue;
    private int _used;

    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_gate)
            {
                var now = time.GetUtcNow();
                return now >= _ends ? now - _ends : null;
            }
        }
    }

    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_gate)
        {
            return new RateLimiterStatistics { CurrentAvailablePermits = time.GetUtcNow() >= _ends ? permitLimit : permitLimit - _used };
        }
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (now >= _ends)
            {
                if (permitCount == 0)
                {
                    return Granted;
                }

                _ends = now + window;
                _used = 0;
            }

            if (permitCount == 0 ? _used < permitLimit : _used + permitCount <= permitLimit)
            {
                _used += permitCount;
                return Granted;
            }

            return new Lease(false, _ends - now);
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(permitCount));

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = metadataName == MetadataName.RetryAfter.Name ? retryAfter : null;
            return metadata is not null;
        }
    }
}
