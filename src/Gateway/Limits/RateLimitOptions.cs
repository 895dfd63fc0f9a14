using Microsoft.Extensions.Options;

namespace WebexGateway.Limits;

/// <summary><c>Gateway:RateLimit</c>: the gateway's share-keeping of the integration's Webex quota.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Gateway:RateLimit";

    /// <summary>Calls one person may make to Webex per minute, over all instances; 0 turns the limit off.</summary>
    public int PermitsPerMinute { get; set; } = 600;

    /// <summary>The cool-down after a Webex 429 that carries no usable <c>Retry-After</c>.</summary>
    public TimeSpan DefaultRetryAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest cool-down kept, whatever <c>Retry-After</c> says.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromHours(1);
}

internal sealed class RateLimitOptionsValidation : IValidateOptions<RateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, RateLimitOptions options)
    {
        var errors = new List<string>();
        if (options.PermitsPerMinute < 0)
        {
            errors.Add($"Gateway:RateLimit:PermitsPerMinute must be 0 (off) or a number of calls per minute (got {options.PermitsPerMinute}).");
        }

        if (options.MaxRetryAfter < TimeSpan.FromSeconds(1) || options.MaxRetryAfter > TimeSpan.FromDays(1))
        {
            errors.Add($"Gateway:RateLimit:MaxRetryAfter must be at least one second and at most one day (got {options.MaxRetryAfter}).");
        }

        if (options.DefaultRetryAfter < TimeSpan.FromSeconds(1) || options.DefaultRetryAfter > options.MaxRetryAfter)
        {
            errors.Add($"Gateway:RateLimit:DefaultRetryAfter must be at least one second and at most Gateway:RateLimit:MaxRetryAfter (got {options.DefaultRetryAfter}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
