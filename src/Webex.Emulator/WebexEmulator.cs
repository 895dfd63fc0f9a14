using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Webex.Emulator.Internal;

namespace Webex.Emulator;

/// <summary>A fake of https://webexapis.com (OAuth, people, rooms, memberships, messages, webhooks) served by Kestrel on 127.0.0.1.</summary>
public sealed class WebexEmulator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping;
    private int _disposed;

    private WebexEmulator(WebApplication app, CancellationTokenSource stopping, EmulatorState state, Uri baseUrl)
    {
        _app = app;
        _stopping = stopping;
        State = state;
        BaseUrl = baseUrl;
    }

    /// <summary>The root the endpoints hang off (they are under <c>/v1</c>), e.g. <c>http://127.0.0.1:43567</c>.</summary>
    public Uri BaseUrl { get; }

    public EmulatorState State { get; }

    /// <summary>Starts the emulator on 127.0.0.1; port 0 picks any free port.</summary>
    public static async Task<WebexEmulator> StartAsync(WebexEmulatorOptions? options = null, int port = 0, CancellationToken cancellationToken = default)
    {
        options ??= new WebexEmulatorOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);

        var state = new EmulatorState(new EmulatorSettings(options), options.Consent);
        var stopping = new CancellationTokenSource();

        // The empty builder reads no configuration or environment and logs nothing: the emulator must not be steered
        // by the host's ASPNETCORE_* variables or clutter test output.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port);
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 1024 * 1024;
        });

        var app = builder.Build();
        app.Run(new RequestPipeline(state, stopping.Token).HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken);
            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            return new WebexEmulator(app, stopping, state, new Uri(address));
        }
        catch
        {
            await app.DisposeAsync();
            stopping.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Releases requests parked in TokenDelay first, so stopping does not wait for them.
        await _stopping.CancelAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Connections still open after the timeout were aborted.
        }

        await _app.DisposeAsync();
        _stopping.Dispose();
        State.Contents.Dispose();
        State.Deliverer.Dispose();
    }
}
