using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Webex.Emulator.Tests;

/// <summary>A real Kestrel server on 127.0.0.1 that keeps every POST it receives and answers <see cref="Status"/>.</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Received> _received = new();
    private volatile int _status = StatusCodes.Status200OK;
    private TaskCompletionSource? _hold;

    private WebhookReceiver(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }

    /// <summary>What every request is answered.</summary>
    public int Status
    {
        get => _status;
        set => _status = value;
    }

    public IReadOnlyList<Received> Requests => [.. _received];

    /// <summary>From now on, requests are kept waiting (after being recorded) until <see cref="Release"/>.</summary>
    public void Hold() => Volatile.Write(ref _hold, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Release() => Interlocked.Exchange(ref _hold, null)?.TrySetResult();

    /// <summary>What reached <paramref name="path"/>, in arrival order.</summary>
    public IReadOnlyList<Received> At(string path) => [.. _received.Where(r => r.PathAndQuery == path)];

    public Uri Target(string path) => new(BaseUrl, path);

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        WebhookReceiver? receiver = null;
        app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            receiver!._received.Enqueue(new Received(
                context.Request.Method,
                context.Request.Path + context.Request.QueryString,
                context.Request.ContentType,
                context.Request.Headers["X-Spark-Signature"].ToString(),
                body.ToArray()));
            if (Volatile.Read(ref receiver._hold) is { } hold)
            {
                await hold.Task.WaitAsync(context.RequestAborted);
            }

            context.Response.StatusCode = receiver._status;
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        receiver = new WebhookReceiver(app, new Uri(address));
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        Release();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public sealed record Received(string Method, string PathAndQuery, string? ContentType, string Signature, byte[] Body);
}
