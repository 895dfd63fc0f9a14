using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace Webex.Emulator.Tests;

/// <summary>Several people who sign in (chosen with login_hint), each with their own tokens, rooms and counters.</summary>
public sealed partial class ManyPeopleTests
{
    [Fact]
    public async Task ByDefault_OnlyTheDefaultPersonSignsIn()
    {
        await using var h = await Harness.StartAsync();

        var person = Assert.Single(h.State.People);

        Assert.Equal(new WebexEmulatorOptions().Person, person);
        Assert.Equal(person, h.State.Person);
        Assert.Equal(h.State.RoomIds, h.State.RoomIdsFor(person.Id));
    }

    [Fact]
    public void GeneratedPeople_AreDeterministicAndDistinct()
    {
        var a = new WebexEmulatorOptions().AddGeneratedPeople(50).People;
        var b = new WebexEmulatorOptions().AddGeneratedPeople(20).AddGeneratedPeople(30).People;

        Assert.Equal(50, a.Count);
        Assert.Equal(a, b);
        Assert.Equal(50, a.Select(p => p.Id).Distinct().Count());
        Assert.Equal(50, a.Select(p => p.Email).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Equal("user0001@example.com", a[0].Email);
        Assert.Equal("User 0050", a[49].DisplayName);
        Assert.DoesNotContain(a, p => p.Id == new WebexEmulatorOptions().Person.Id);
        Assert.All(a, p => Assert.StartsWith("ciscospark://us/PEOPLE/", Decode(p.Id)));
        Assert.Equal(EmulatorPerson.Generated(7), a[6]);
    }

    [Fact]
    public async Task LoginHint_SignsInThatPerson_AndPeopleMeAnswersTheTokensOwner()
    {
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(3));
        var bob = h.State.People[2];

        var adaToken = await h.SignInForAccessTokenAsync();
        var bobToken = await h.SignInForAccessTokenAsync(bob.Email.ToUpperInvariant());

        Assert.Equal(4, h.State.People.Count);
        Assert.Equal(h.State.Person.Id, await MeAsync(h, adaToken));
        Assert.Equal(bob.Id, await MeAsync(h, bobToken));
        Assert.Equal(bobToken, h.State.LastAccessTokenFor(bob.Id));
        Assert.Equal(adaToken, h.State.LastAccessTokenFor(h.State.Person.Id));
        Assert.Null(h.State.LastAccessTokenFor(h.State.People[1].Id));
        Assert.Equal(bobToken, h.State.LastAccessToken);
    }

    [Fact]
    public async Task EmailParameter_IsAlsoALoginHint()
    {
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(2));
        var carol = h.State.People[2];

        using var response = await h.Http.GetAsync(h.Url(
            $"/v1/authorize?client_id={Harness.ClientId}&response_type=code&redirect_uri={Uri.EscapeDataString(Harness.RedirectUri)}&scope=spark%3Apeople_read&email={Uri.EscapeDataString(carol.Email)}"));
        var code = Harness.RedirectParameters(response)["code"];
        using var token = await h.ExchangeAsync(code, null);
        var access = (await Harness.JsonAsync(token)).GetProperty("access_token").GetString()!;

        Assert.Equal(carol.Id, await MeAsync(h, access));
    }

    [Fact]
    public async Task UnknownLoginHint_IsAnErrorPage_NotAnotherPersonsCode()
    {
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(2));

        using var response = await h.AuthorizeAsync(Harness.NewPkce().Challenge, loginHint: "nobody@example.com");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("unknown_user", await response.Content.ReadAsStringAsync());
        Assert.Null(response.Headers.Location);
        Assert.Empty(h.State.IssuedSecrets);
    }

    [Fact]
    public async Task ConsentPage_NamesTheHintedPerson_AndItsCodeIsTheirs()
    {
        await using var h = await Harness.StartAsync(o =>
        {
            o.Consent = ConsentMode.Page;
            o.AddGeneratedPeople(2);
        });
        var dave = h.State.People[1];
        var (verifier, challenge) = Harness.NewPkce();

        using var page = await h.AuthorizeAsync(challenge, loginHint: dave.Email);
        var html = await page.Content.ReadAsStringAsync();
        var consentId = ConsentId().Match(html).Groups[1].Value;
        using var accepted = await h.Http.PostAsync(h.Url("/v1/authorize/decision"), new FormUrlEncodedContent(
            [KeyValuePair.Create("consent_id", consentId), KeyValuePair.Create("decision", "accept")]));
        using var token = await h.ExchangeAsync(Harness.RedirectParameters(accepted)["code"], verifier);

        Assert.Contains(dave.Email, html);
        Assert.Contains(dave.DisplayName, html);
        Assert.Equal(dave.Id, await MeAsync(h, (await Harness.JsonAsync(token)).GetProperty("access_token").GetString()!));
    }

    [Fact]
    public async Task EachPerson_HasTheirOwnRooms_AndCannotSeeOrPostToAnothersRooms()
    {
        await using var h = await Harness.StartAsync(o =>
        {
            o.RoomCount = 10;
            o.AddGeneratedPeople(2);
        });
        var ada = h.State.Person;
        var bob = h.State.People[1];
        var adaToken = await h.SignInForAccessTokenAsync();
        var bobToken = await h.SignInForAccessTokenAsync(bob.Email);

        Assert.Equal(10, h.State.RoomIdsFor(bob.Id).Count);
        Assert.Empty(h.State.RoomIdsFor(ada.Id).Intersect(h.State.RoomIdsFor(bob.Id)));
        Assert.Contains('/', h.State.RoomIdsFor(bob.Id)[0]);
        Assert.Contains('+', h.State.RoomIdsFor(bob.Id)[0]);
        Assert.Empty(h.State.RoomIdsFor("someone else"));
        Assert.Equal(h.State.RoomIdsFor(bob.Id).Order(), await RoomIdsAsync(h, bobToken));
        Assert.Equal(h.State.RoomIds.Order(), await RoomIdsAsync(h, adaToken));

        var adasRoom = Uri.EscapeDataString(h.State.RoomIds[1]);
        using (var foreign = await h.ApiAsync(HttpMethod.Get, "/v1/rooms/" + adasRoom, bobToken))
        {
            await Harness.AssertWebexErrorAsync(foreign, HttpStatusCode.NotFound);
        }

        using (var post = await h.ApiAsync(HttpMethod.Post, "/v1/messages", bobToken, JsonContent.Create(new { roomId = h.State.RoomIds[1], text = "hi" })))
        {
            await Harness.AssertWebexErrorAsync(post, HttpStatusCode.NotFound);
        }

        using var own = await h.ApiAsync(HttpMethod.Post, "/v1/messages", bobToken, JsonContent.Create(new { roomId = h.State.RoomIdsFor(bob.Id)[1], text = "hi" }));
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        var message = await Harness.JsonAsync(own);
        Assert.Equal(bob.Id, message.GetProperty("personId").GetString());
        Assert.Equal(bob.Email, message.GetProperty("personEmail").GetString());
        using var adaReadsBobsMessage = await h.ApiAsync(HttpMethod.Get, "/v1/messages/" + Uri.EscapeDataString(message.GetProperty("id").GetString()!), adaToken);
        await Harness.AssertWebexErrorAsync(adaReadsBobsMessage, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task DirectMessages_ToAnotherSignInPerson_AndNotToYourself()
    {
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(1));
        var bob = h.State.People[1];
        var bobToken = await h.SignInForAccessTokenAsync(bob.Email);

        using var toAda = await h.ApiAsync(HttpMethod.Post, "/v1/messages", bobToken, JsonContent.Create(new { toPersonEmail = h.State.Person.Email, text = "hi Ada" }));
        using var toSelf = await h.ApiAsync(HttpMethod.Post, "/v1/messages", bobToken, JsonContent.Create(new { toPersonId = bob.Id, text = "hi me" }));

        Assert.Equal(HttpStatusCode.OK, toAda.StatusCode);
        Assert.Equal(h.State.Person.Id, (await Harness.JsonAsync(toAda)).GetProperty("toPersonId").GetString());
        await Harness.AssertWebexErrorAsync(toSelf, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Counters_ArePerPerson_AndTheOldOnesAreTotals()
    {
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(2));
        var ada = h.State.Person.Id;
        var bob = h.State.People[1].Id;
        var carol = h.State.People[2].Id;
        var adaRefresh = (await h.SignInAsync()).GetProperty("refresh_token").GetString()!;
        var bobRefresh = (await h.SignInAsync(h.State.People[1].Email)).GetProperty("refresh_token").GetString()!;

        for (var i = 0; i < 3; i++)
        {
            using var refreshed = await h.RefreshAsync(bobRefresh);
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        }

        using (var refreshed = await h.RefreshAsync(adaRefresh))
        {
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        }

        using (var unknown = await h.RefreshAsync("not-a-refresh-token"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        }

        Assert.Equal(3, h.State.RefreshCallsFor(bob));
        Assert.Equal(1, h.State.RefreshCallsFor(ada));
        Assert.Equal(0, h.State.RefreshCallsFor(carol));
        Assert.Equal(1, h.State.CodeExchangesFor(bob));
        Assert.Equal(4, h.State.TokenCallsFor(bob));
        Assert.Equal(5, h.State.RefreshCalls);
        Assert.Equal(2, h.State.CodeExchanges);
        Assert.Equal(7, h.State.TokenCalls);

        h.State.Reset();

        Assert.Equal(0, h.State.RefreshCallsFor(bob));
        Assert.Equal(0, h.State.TokenCallsFor(ada));
    }

    [Fact]
    public async Task RefreshedTokens_StayBoundToTheirPerson_AndExpiringOnePersonLeavesOthersAlone()
    {
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(1));
        var bob = h.State.People[1];
        var ada = await h.SignInAsync();
        var bobTokens = await h.SignInAsync(bob.Email);
        var adaAccess = ada.GetProperty("access_token").GetString()!;
        var bobAccess = bobTokens.GetProperty("access_token").GetString()!;

        h.State.ExpireAccessTokens(bob.Id);

        using (var expired = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", bobAccess))
        {
            await Harness.AssertWebexErrorAsync(expired, HttpStatusCode.Unauthorized);
        }

        Assert.Equal(h.State.Person.Id, await MeAsync(h, adaAccess));
        using var refreshed = await h.RefreshAsync(bobTokens.GetProperty("refresh_token").GetString()!);
        var newBobAccess = (await Harness.JsonAsync(refreshed)).GetProperty("access_token").GetString()!;
        Assert.Equal(bob.Id, await MeAsync(h, newBobAccess));

        h.State.ExpireAccessTokens();

        using var all = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", newBobAccess);
        await Harness.AssertWebexErrorAsync(all, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task DuplicateEmails_AreRejectedAtStart_AndTheDefaultPersonInPeopleIsIgnored()
    {
        var options = new WebexEmulatorOptions();
        options.People.Add(EmulatorPerson.Generated(1));
        options.People.Add(EmulatorPerson.Generated(1) with { Id = "other-id" });
        await Assert.ThrowsAsync<ArgumentException>(() => WebexEmulator.StartAsync(options));

        await using var h = await Harness.StartAsync(o => o.People.Add(o.Person));
        Assert.Single(h.State.People);
    }

    private static async Task<string> MeAsync(Harness h, string accessToken)
    {
        using var response = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", accessToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await Harness.JsonAsync(response)).GetProperty("id").GetString()!;
    }

    private static async Task<IEnumerable<string>> RoomIdsAsync(Harness h, string accessToken)
    {
        using var response = await h.ApiAsync(HttpMethod.Get, "/v1/rooms?max=1000", accessToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await Harness.JsonAsync(response)).GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetString()!).Order().ToArray();
    }

    private static string Decode(string id) =>
        System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(id.PadRight((id.Length + 3) / 4 * 4, '=')));

    [GeneratedRegex("name=\"consent_id\" value=\"([^\"]+)\"")]
    private static partial Regex ConsentId();
}
