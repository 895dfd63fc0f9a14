using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Infrastructure;

/// <summary>
/// The one entry point for a test that needs something the machine must provide (a program such as
/// <c>redis-server</c>, a browser). Call it first thing in a <c>[SkippableFact]</c> or <c>[SkippableTheory]</c>
/// (under a plain <c>[Fact]</c> a skip is reported as a failure):
/// <code>var redisServer = SystemBinaries.Require("redis-server", SystemBinaries.RedisServerInstall);</code>
/// Present: the test runs. Missing: the test is reported skipped, naming what is missing and how to install it, so that
/// <c>dotnet test</c> passes on a machine with only the .NET SDK. With <c>GATEWAY_TEST_REQUIRE_ALL=1</c> (CI, where
/// everything is installed) a missing dependency fails the test instead.
/// </summary>
public static class SystemBinaries
{
    public const string RequireAllVariable = "GATEWAY_TEST_REQUIRE_ALL";

    public const string RedisServerInstall = "apt-get install -y redis-server";

    /// <summary>For a Sentinel deployment, which needs both programs.</summary>
    public const string RedisSentinelInstall = "apt-get install -y redis-server redis-sentinel";

    private static readonly ConcurrentDictionary<string, bool> Announced = new();
    private static IMessageSink? _diagnostics;

    public static bool RequireAll => Environment.GetEnvironmentVariable(RequireAllVariable) == "1";

    /// <summary>
    /// Where each skip reason is also written once (a shared fixture passes xunit's diagnostic sink): the default
    /// <c>dotnet test</c> output names a skipped test but not why. Needs <c>diagnosticMessages</c> in xunit.runner.json.
    /// </summary>
    public static void AnnounceTo(IMessageSink diagnostics) => _diagnostics ??= diagnostics;

    /// <summary>A line in the <c>dotnet test</c> output.</summary>
    public static void Announce(string line)
    {
        if (Announced.TryAdd(line, true))
        {
            _diagnostics?.OnMessage(new Xunit.Sdk.DiagnosticMessage(line));
        }
    }

    /// <summary>The full path of <paramref name="name"/> on PATH; when it is not there, the test is skipped (or fails, see above).</summary>
    public static string Require(string name, string installHint) =>
        Find(name) ?? throw Missing($"no {name} on PATH", installHint);

    /// <summary>The full path of <paramref name="name"/> on PATH, or null.</summary>
    public static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    /// <summary>
    /// Ends the current test for want of <paramref name="what"/> (e.g. "no Chromium"): skipped, or failed when
    /// <see cref="RequireAllVariable"/> is 1. For dependencies that are not a program on PATH. It never returns: its
    /// return type only lets a caller write <c>throw SystemBinaries.Missing(...)</c>.
    /// </summary>
    [DoesNotReturn]
    public static Exception Missing(string what, string installHint, string? detail = null)
    {
        var details = string.IsNullOrEmpty(detail) ? "" : $". {detail}";
        if (RequireAll)
        {
            Assert.Fail($"{what}, and {RequireAllVariable}=1 requires every dependency (how to get one: {installHint}){details}");
        }

        var reason = $"skipped: {what} (how to get one: {installHint}){details}";
        Announce(reason);
        throw new SkipException(reason);
    }
}
