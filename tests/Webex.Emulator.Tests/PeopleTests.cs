using System.Net;
using System.Text.RegularExpressions;

namespace Webex.Emulator.Tests;

public sealed class PeopleTests
{
    private static readonly Regex WebexDate = new(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$");

    [Fact]
    public async Task Me_IsTheConfiguredPersonInWebexShape()
    {
        var person = new EmulatorPerson(
            "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNWIzNjE4Ny1jOGRkLTQ3MjctOGIyZi1mOWM0NDdmMjkwNDY", "John Andersen", "john.andersen@example.com", "John", "Andersen",
            "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi85NmFiYzJhYS0zZGNjLTExZTUtYTE1Mi1mZTM0ODE5Y2RjOWE");
        await using var h = await Harness.StartAsync(o => o.Person = person);
        var access = await h.SignInForAccessTokenAsync();

        using var response = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", access);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await Harness.JsonAsync(response);
        Assert.Equal(person.Id, json.GetProperty("id").GetString());
        Assert.Equal(person.Email, json.GetProperty("emails")[0].GetString());
        Assert.Equal("John Andersen", json.GetProperty("displayName").GetString());
        Assert.Equal("John", json.GetProperty("nickName").GetString());
        Assert.Equal("John", json.GetProperty("firstName").GetString());
        Assert.Equal("Andersen", json.GetProperty("lastName").GetString());
        Assert.StartsWith("https://", json.GetProperty("avatar").GetString());
        Assert.Equal(person.OrgId, json.GetProperty("orgId").GetString());
        Assert.Matches(WebexDate, json.GetProperty("created").GetString()!);
        Assert.Matches(WebexDate, json.GetProperty("lastActivity").GetString()!);
        Assert.Equal("active", json.GetProperty("status").GetString());
        Assert.Equal("person", json.GetProperty("type").GetString());
    }

    [Fact]
    public void DefaultPerson_HasABase64WebexId()
    {
        var person = new WebexEmulatorOptions().Person;

        var decoded = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(person.Id.PadRight((person.Id.Length + 3) / 4 * 4, '=')));

        Assert.StartsWith("ciscospark://us/PEOPLE/", decoded);
        Assert.True(Guid.TryParse(decoded["ciscospark://us/PEOPLE/".Length..], out _));
    }

    [Fact]
    public async Task PersonById_IsFoundOr404()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();
        var me = new WebexEmulatorOptions().Person;

        using var found = await h.ApiAsync(HttpMethod.Get, "/v1/people/" + Uri.EscapeDataString(me.Id), access);
        using var missing = await h.ApiAsync(HttpMethod.Get, "/v1/people/Y2lzY29zcGFyazovL3VzL1BFT1BMRS9ub2JvZHk", access);

        Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        Assert.Equal(me.Id, (await Harness.JsonAsync(found)).GetProperty("id").GetString());
        await Harness.AssertWebexErrorAsync(missing, HttpStatusCode.NotFound);
    }
}
