using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace WebexGateway.Tests.Infrastructure;

/// <summary>Keeps every log line, message, state and exception, so tests can search it for secrets.</summary>
public sealed class CapturingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, lines);

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            lines.Enqueue($"{category} scope: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(", ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            var line = $"{logLevel} {category}: {formatter(state, exception)} [{values}] {exception}";
            lines.Enqueue(line);
            if (Environment.GetEnvironmentVariable("GATEWAY_TEST_LOG") is { Length: > 0 } file && logLevel >= LogLevel.Warning)
            {
                lock (lines)
                {
                    File.AppendAllText(file, line + Environment.NewLine);
                }
            }
        }
    }
}
