using System.Buffers;
using System.Collections;
using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace WebexGateway.Telemetry;

/// <summary>
/// Secrets of a sign-in never reach a log line, whatever level an operator turns on: the <c>code</c> and <c>state</c> of a
/// callback (in ASP.NET Core's request line at Information), the OAuth handler's authorize URL and correlation cookie (at
/// Debug, under the handler's own category, which no <c>Microsoft.AspNetCore</c> filter covers), the session cookie, and
/// any token. Every logger the application's factory makes is wrapped, in code: no configuration can turn it off. Each
/// message and each structured value is redacted, so what reaches a provider, console or OTLP, is the same.
/// </summary>
public static partial class LogRedaction
{
    public const string Redacted = "[redacted]";

    /// <summary>Wraps the logger factory every part of the gateway (ASP.NET Core's hosting and handlers too) takes its loggers from.</summary>
    public static IServiceCollection AddLogRedaction(this IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(provider => new RedactingLoggerFactory(new LoggerFactory(
            provider.GetServices<ILoggerProvider>(),
            provider.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>(),
            provider.GetService<IOptions<LoggerFactoryOptions>>(),
            provider.GetService<IExternalScopeProvider>()))));
        return services;
    }

    /// <summary>What every secret-bearing text holds; a text without any of these is passed on untouched, unscanned.</summary>
    private static readonly SearchValues<string> Markers = SearchValues.Create(
        ["code=", "state=", "token=", "secret=", "verifier=", "correlation.", "webex-gateway.session", "bearer "], StringComparison.OrdinalIgnoreCase);

    /// <summary>True when the text may hold a secret this redacts.</summary>
    public static bool MayHoldSecret(ReadOnlySpan<char> text) => text.ContainsAny(Markers);

    public static string Redact(string text) => MayHoldSecret(text) ? Secrets().Replace(text, Replace) : text;

    private static string Replace(Match match)
    {
        if (match.Groups["param"].Success)
        {
            return match.Groups["param"].Value + Redacted;
        }

        if (match.Groups["bearer"].Success)
        {
            return match.Groups["bearer"].Value + Redacted;
        }

        // A cookie: the nonce a correlation cookie is named after, and any value.
        var rest = match.Groups["rest"].Length > 0 ? Redacted : "";
        var value = match.Groups["value"].Success ? "=" + Redacted : "";
        return match.Groups["cookie"].Value + rest + value;
    }

    /// <summary>
    /// A query or form parameter that carries a secret (<c>code</c>, <c>state</c>, tokens, the client secret, the PKCE
    /// verifier), a Bearer token, or a cookie of the sign-in (the correlation cookie, whose name holds the nonce the state
    /// names, and the session cookie).
    /// </summary>
    [GeneratedRegex("""
        (?<param>(?<![A-Za-z0-9_.-])(?:code|state|access_token|refresh_token|id_token|token|code_verifier|client_secret)=)[^&#\s;,'"]+
        |(?<bearer>\bBearer\s+)[^\s,;'"]+
        |(?<cookie>\.AspNetCore\.Correlation\.|webex-gateway\.correlation\.|webex-gateway\.session(?:C\d+)?)(?<rest>[^=;\s,'"]*)(?:=(?<value>[^;\s,'"]*))?
        """, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex Secrets();

    private sealed class RedactingLoggerFactory(LoggerFactory inner) : ILoggerFactory
    {
        private readonly ConcurrentDictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

        public ILogger CreateLogger(string categoryName) =>
            _loggers.GetOrAdd(categoryName, static (category, factory) => new RedactingLogger(factory.CreateLogger(category)), inner);

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose() => inner.Dispose();
    }

    private sealed class RedactingLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                if (!AnyMayHoldSecret(values))
                {
                    inner.Log(logLevel, eventId, state, exception, formatter);
                    return;
                }

                inner.Log(logLevel, eventId, RedactedState.Of(values, formatter(state, exception)), exception, RedactedState.Format);
                return;
            }

            var message = formatter(state, exception);
            if (!MayHoldSecret(message))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }

            inner.Log(logLevel, eventId, new RedactedState([], Redact(message)), exception, RedactedState.Format);
        }

        private static bool AnyMayHoldSecret(IReadOnlyList<KeyValuePair<string, object?>> values)
        {
            for (var i = 0; i < values.Count; i++)
            {
                var (key, value) = values[i];
                if (IsSecretName(key) || (TextOf(value) is { } text && MayHoldSecret(text)))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private const string TemplateKey = "{OriginalFormat}";

    /// <summary>Names of structured values that are secret whatever they hold: ASP.NET Core's correlation cookie, tokens.</summary>
    private static readonly SearchValues<string> SecretNames = SearchValues.Create(
        ["cookie", "token", "secret", "password", "authorization"], StringComparison.OrdinalIgnoreCase);

    private static bool IsSecretName(string key) => key != TemplateKey && key.AsSpan().ContainsAny(SecretNames);

    /// <summary>The text a structured value is written as, for the values that can hold one; null for numbers, dates and the like.</summary>
    private static string? TextOf(object? value) => value switch
    {
        null => null,
        string text => text,
        StringValues values => values.ToString(),
        IEnumerable<string> texts => string.Join(", ", texts),
        ValueType => value is IFormattable or bool ? null : value.ToString(),
        _ => value.ToString(),
    };

    /// <summary>The same values, every secret in them redacted, and the message written again from them.</summary>
    private sealed class RedactedState(KeyValuePair<string, object?>[] values, string message) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public static readonly Func<RedactedState, Exception?, string> Format = static (state, _) => state.ToString();

        public int Count => values.Length;

        public KeyValuePair<string, object?> this[int index] => values[index];

        public static RedactedState Of(IReadOnlyList<KeyValuePair<string, object?>> original, string message)
        {
            var values = new KeyValuePair<string, object?>[original.Count];
            string? template = null;
            for (var i = 0; i < values.Length; i++)
            {
                var (key, value) = original[i];
                if (key == TemplateKey)
                {
                    template = value as string;
                    values[i] = original[i];
                }
                else if (IsSecretName(key))
                {
                    values[i] = new(key, Redacted);
                }
                else
                {
                    values[i] = TextOf(value) is { } text && MayHoldSecret(text) ? new(key, Redact(text)) : original[i];
                }
            }

            // The message the logger made holds the secrets too; made again from the redacted values, it cannot.
            return new RedactedState(values, Redact(template is null ? message : Fill(template, values)));
        }

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)values).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => message;

        /// <summary>A message template (<c>{Name}</c>, <c>{Name:format}</c>, <c>{{</c>) filled from the values by name.</summary>
        private static string Fill(string template, KeyValuePair<string, object?>[] values)
        {
            var text = new System.Text.StringBuilder(template.Length + 64);
            for (var i = 0; i < template.Length; i++)
            {
                var c = template[i];
                if ((c is '{' or '}') && i + 1 < template.Length && template[i + 1] == c)
                {
                    text.Append(c);
                    i++;
                }
                else if (c == '{' && template.IndexOf('}', i) is var end and > 0)
                {
                    var hole = template.AsSpan(i + 1, end - i - 1);
                    var format = hole.IndexOf(':') is var colon and >= 0 ? hole[(colon + 1)..].ToString() : null;
                    var name = hole[..(hole.IndexOfAny(':', ',') is var stop and >= 0 ? stop : hole.Length)].ToString();
                    var value = values.FirstOrDefault(v => string.Equals(v.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
                    text.Append(value switch
                    {
                        null => "(null)",
                        string s => s,
                        IFormattable formattable => formattable.ToString(format, System.Globalization.CultureInfo.InvariantCulture),
                        IEnumerable items => string.Join(", ", items.Cast<object?>()),
                        _ => value.ToString(),
                    });
                    i = end;
                }
                else
                {
                    text.Append(c);
                }
            }

            return text.ToString();
        }
    }
}
