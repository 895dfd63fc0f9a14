namespace WebexGateway.Telemetry;

/// <summary>
/// ASP.NET Core starts an Activity for every request whenever its hosting logger is on at all, so that log scopes carry
/// trace ids, even when no span is recorded. Where nothing reads that Activity (no span recorded, no trace context sent
/// on to Webex) and the configuration leaves that logger's only lines, each request's start and end at Information, off,
/// the logger is turned off altogether: the Activity cost about 4 µs a call (bench/).
/// </summary>
public static class HostingActivity
{
    /// <summary>The logger whose being on makes ASP.NET Core start an Activity for each request.</summary>
    public const string Category = "Microsoft.AspNetCore.Hosting.Diagnostics";

    public static void TurnOffWhereUnread(ILoggingBuilder logging, IConfiguration configuration, bool recordsTraces, bool propagatesToWebex)
    {
        if (!recordsTraces && !propagatesToWebex && !RequestLinesConfigured(configuration))
        {
            logging.AddFilter(Category, LogLevel.None);
        }
    }

    /// <summary>
    /// Whether the general logging section, or a provider's, lets the logger write at Information: the level it gives the
    /// longest prefix of <see cref="Category"/> it names, else its Default; with no level anywhere, .NET's own, Information.
    /// </summary>
    private static bool RequestLinesConfigured(IConfiguration configuration)
    {
        var logging = configuration.GetSection("Logging");
        return (LevelIn(logging.GetSection("LogLevel")) ?? LogLevel.Information) <= LogLevel.Information
            || logging.GetChildren().Any(provider => LevelIn(provider.GetSection("LogLevel")) <= LogLevel.Information);
    }

    private static LogLevel? LevelIn(IConfigurationSection levels)
    {
        for (var category = Category; ; category = category[..category.LastIndexOf('.')])
        {
            if (Enum.TryParse<LogLevel>(levels[category], ignoreCase: true, out var level))
            {
                return level;
            }

            if (!category.Contains('.', StringComparison.Ordinal))
            {
                return Enum.TryParse<LogLevel>(levels["Default"], ignoreCase: true, out var fallback) ? fallback : null;
            }
        }
    }
}
