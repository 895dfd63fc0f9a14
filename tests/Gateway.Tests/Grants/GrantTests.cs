using WebexGateway.Grants;

namespace WebexGateway.Tests.Grants;

public sealed class GrantTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private static readonly Grant Original = new("person", "Ada", ["ada@example.com"], "spark:people_read",
        "access-1", Now.AddMinutes(5), "refresh-1", Now.AddDays(30));

    [Fact]
    public void A_refresh_without_a_new_refresh_token_keeps_the_old_one()
    {
        var refreshed = Original.Refreshed(new TokenResponse("access-2", 1209600, null, null, null), Now);

        Assert.Equal("access-2", refreshed.AccessToken);
        Assert.Equal(Now.AddDays(14), refreshed.AccessTokenExpiresAt);
        Assert.Equal("refresh-1", refreshed.RefreshToken);
        Assert.Equal(Original.RefreshTokenExpiresAt, refreshed.RefreshTokenExpiresAt);
    }

    [Fact]
    public void A_refresh_with_a_new_refresh_token_keeps_the_new_one_and_its_lifetime()
    {
        var refreshed = Original.Refreshed(new TokenResponse("access-2", 1209600, "refresh-2", 7776000, "spark:all"), Now);

        Assert.Equal("refresh-2", refreshed.RefreshToken);
        Assert.Equal(Now.AddDays(90), refreshed.RefreshTokenExpiresAt);
        Assert.Equal("spark:all", refreshed.Scopes);
    }

    [Theory]
    [InlineData(4, false)]
    [InlineData(6, true)]
    public void Expiring_within_a_window(int minutes, bool expected)
        => Assert.Equal(expected, Original.AccessTokenExpiresWithin(TimeSpan.FromMinutes(minutes), Now));
}
