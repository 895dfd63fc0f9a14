using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Infrastructure;

/// <summary>
/// Keeps every log line, message, state and exception, so tests can search it for secrets; with an
/// <see cref="ITestOutputHelper"/> each line also goes to the running test's output, so a failing test shows what the
/// gateway logged. <paramref name="source"/> tells apart the gateways of one test there.
/// </summary>
public sealed class CapturingLoggerProvider(ConcurrentQueue<string> lines, ITestOutputHelper? output = null, string source = "gateway") : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, lines, output, source);

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<string> lines, ITestOutputHelper? output, string source) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            lines.Enqueue($"{category} scope: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(", ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            var line = $"{logLevel} {category}: {message} [{values}] {exception}";
            lines.Enqueue(line);
            if (Environment.GetEnvironmentVariable("GATEWAY_TEST_LOG") is { Length: > 0 } file && logLevel >= LogLevel.Warning)
            {
                lock (lines)
                {
                    File.AppendAllText(file, line + Environment.NewLine);
                }
            }

            if (output is not null)
            {
                WriteToTestOutput(output, string.Create(CultureInfo.InvariantCulture,
                    $"{DateTime.UtcNow:HH:mm:ss.fff} [{source}] {logLevel} {category}: {message}{(exception is null ? "" : Environment.NewLine + exception)}"));
            }
        }

        private static void WriteToTestOutput(ITestOutputHelper output, string line)
        {
            try
            {
                output.WriteLine(line);
            }
            catch (InvalidOperationException)
            {
                // The test has finished (a gateway still shutting down or a late background job): xunit refuses output
                // then, and there is no test left to show it on.
            }
        }
    }
}
