using Microsoft.AspNetCore.Http;
using WebexGateway.Limits;
using WebexGateway.Proxy;

namespace WebexGateway.Tests.Limits;

/// <summary>The resource a call's cool-down and limit are kept for: the first two segments of its Webex path, lower case.</summary>
public sealed class WebexResourceTests
{
    private static readonly UpstreamPath Webex = new("/webex", "");
    private static readonly UpstreamPath BotMessages = new("/bots/msg/v1/messages", "/v1/messages");

    [Theory]
    [InlineData("/webex/v1/people/me", "v1/people")]
    [InlineData("/webex/V1/Rooms/abc", "v1/rooms")]
    [InlineData("/webex/v1//rooms/", "v1/rooms")]
    [InlineData("/webex/v1", "v1")]
    [InlineData("/webex/", "")]
    [InlineData("/webex", "")]
    [InlineData("/webex/v1/messages%2Fabc", "v1/messages")]
    [InlineData("/webex/v1%2fmessages", "v1/messages")]
    public void Of_a_Webex_route_call(string path, string resource)
        => Assert.Equal(resource, WebexResource.Of(new PathString(path), Webex));

    [Theory]
    [InlineData("/bots/msg/v1/messages", "v1/messages")]
    [InlineData("/bots/msg/v1/messages/abc", "v1/messages")]
    public void Of_a_bot_route_call_counts_the_route_s_Webex_path(string path, string resource)
        => Assert.Equal(resource, WebexResource.Of(new PathString(path), BotMessages));

    [Fact]
    public void A_long_resource_is_cut_at_64_characters()
    {
        var resource = WebexResource.Of(new PathString("/webex/v1/" + new string('A', 100)), Webex);
        Assert.Equal("v1/" + new string('a', 61), resource);
    }

    [Fact]
    public void The_same_resource_is_the_same_string_on_every_call()
        => Assert.Same(WebexResource.Of(new PathString("/webex/v1/teams/1"), Webex), WebexResource.Of(new PathString("/webex/V1/teams/2"), Webex));
}
