using System.Diagnostics;
using System.Net;

namespace Webex.Emulator.Tests;

public sealed class TokenFaultTests
{
    [Theory]
    [InlineData(TokenEndpointFault.ServerError, HttpStatusCode.InternalServerError)]
    [InlineData(TokenEndpointFault.Unavailable, HttpStatusCode.ServiceUnavailable)]
    public async Task Fault_AnswersWithWebexJsonError(TokenEndpointFault fault, HttpStatusCode status)
    {
        await using var h = await Harness.StartAsync();
        var refresh = (await h.SignInAsync()).GetProperty("refresh_token").GetString()!;
        h.State.Reset();
        h.State.TokenFault = fault;

        using var failed = await h.RefreshAsync(refresh);
        h.State.TokenFault = TokenEndpointFault.None;
        using var recovered = await h.RefreshAsync(refresh);

        await Harness.AssertWebexErrorAsync(failed, status);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
        Assert.Equal(2, h.State.TokenCalls);
        Assert.Equal(2, h.State.RefreshCalls);
    }

    [Fact]
    public async Task DropConnection_AbortsWithoutAResponse()
    {
        await using var h = await Harness.StartAsync();
        var refresh = (await h.SignInAsync()).GetProperty("refresh_token").GetString()!;
        h.State.TokenFault = TokenEndpointFault.DropConnection;

        await Assert.ThrowsAsync<HttpRequestException>(() => h.RefreshAsync(refresh));

        Assert.Equal(1, h.State.RefreshCalls);
        h.State.TokenFault = TokenEndpointFault.None;
        using var recovered = await h.RefreshAsync(refresh);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
    }

    [Fact]
    public async Task TokenDelay_DelaysEveryTokenCall()
    {
        await using var h = await Harness.StartAsync();
        var refresh = (await h.SignInAsync()).GetProperty("refresh_token").GetString()!;
        h.State.TokenDelay = TimeSpan.FromMilliseconds(400);

        var stopwatch = Stopwatch.StartNew();
        using var response = await h.RefreshAsync(refresh);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromMilliseconds(380), stopwatch.Elapsed.ToString());
    }

    [Fact]
    public async Task TokenDelay_CallIsCountedOnArrival()
    {
        await using var h = await Harness.StartAsync();
        var refresh = (await h.SignInAsync()).GetProperty("refresh_token").GetString()!;
        h.State.Reset();
        h.State.TokenDelay = TimeSpan.FromSeconds(1);

        var pending = h.RefreshAsync(refresh);
        var deadline = Stopwatch.StartNew();
        while (h.State.RefreshCalls == 0 && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(10);
        }

        Assert.Equal(1, h.State.RefreshCalls);
        Assert.False(pending.IsCompleted);
        using var response = await pending;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Dispose_DoesNotWaitForADelayedTokenCall()
    {
        var h = await Harness.StartAsync();
        var refresh = (await h.SignInAsync()).GetProperty("refresh_token").GetString()!;
        h.State.TokenDelay = TimeSpan.FromMinutes(5);
        var pending = h.RefreshAsync(refresh);
        var deadline = Stopwatch.StartNew();
        while (h.State.RefreshCalls == 0 && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(10);
        }

        var stopwatch = Stopwatch.StartNew();
        await h.Emulator.DisposeAsync();

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(4), stopwatch.Elapsed.ToString());
        await Assert.ThrowsAsync<HttpRequestException>(() => pending);
        await h.DisposeAsync();
    }
}
