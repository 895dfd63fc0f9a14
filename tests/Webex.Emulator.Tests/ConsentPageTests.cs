using System.Net;
using System.Text.RegularExpressions;

namespace Webex.Emulator.Tests;

public sealed partial class ConsentPageTests
{
    [Fact]
    public async Task Page_ShowsTheClientAndScopesWithAcceptAndDeclineForms()
    {
        await using var h = await Harness.StartAsync(o => o.Consent = ConsentMode.Page);

        using var response = await h.AuthorizeAsync(Harness.NewPkce().Challenge);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<title>Webex</title>", html);
        Assert.Contains(Harness.ClientId, html);
        foreach (var scope in Harness.Scope.Split(' '))
        {
            Assert.Contains($"<li>{scope}</li>", html);
        }

        var forms = Forms(html);
        Assert.Equal(2, forms.Count);
        Assert.All(forms, f => Assert.Equal("/v1/authorize/decision", f.Action));
        Assert.Contains(forms, f => f.Fields["decision"] == "accept" && f.Button == "Accept");
        Assert.Contains(forms, f => f.Fields["decision"] == "decline" && f.Button == "Decline");
        Assert.Empty(h.State.IssuedSecrets);
    }

    [Fact]
    public async Task Accept_RedirectsWithAWorkingCodeAndTheState()
    {
        await using var h = await Harness.StartAsync(o => o.Consent = ConsentMode.Page);
        var (verifier, challenge) = Harness.NewPkce();
        using var page = await h.AuthorizeAsync(challenge, "state-1");
        var accept = Forms(await page.Content.ReadAsStringAsync()).Single(f => f.Fields["decision"] == "accept");

        using var response = await SubmitAsync(h, accept);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith(Harness.RedirectUri + "?", response.Headers.Location!.OriginalString);
        var parameters = Harness.RedirectParameters(response);
        Assert.Equal("state-1", parameters["state"]);
        using var token = await h.ExchangeAsync(parameters["code"], verifier);
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
    }

    [Fact]
    public async Task Decline_RedirectsWithAccessDenied_AndTheConsentCannotBeReplayed()
    {
        await using var h = await Harness.StartAsync(o => o.Consent = ConsentMode.Page);
        using var page = await h.AuthorizeAsync(Harness.NewPkce().Challenge, "state-2");
        var forms = Forms(await page.Content.ReadAsStringAsync());

        using var response = await SubmitAsync(h, forms.Single(f => f.Fields["decision"] == "decline"));

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var parameters = Harness.RedirectParameters(response);
        Assert.Equal("access_denied", parameters["error"]);
        Assert.Equal("state-2", parameters["state"]);
        Assert.False(parameters.ContainsKey("code"));

        using var replay = await SubmitAsync(h, forms.Single(f => f.Fields["decision"] == "accept"));
        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Null(replay.Headers.Location);
    }

    [Fact]
    public async Task UnknownConsentId_Answers400Html()
    {
        await using var h = await Harness.StartAsync(o => o.Consent = ConsentMode.Page);

        using var response = await h.Http.PostAsync(
            h.Url("/v1/authorize/decision"),
            new FormUrlEncodedContent([KeyValuePair.Create("consent_id", "nope"), KeyValuePair.Create("decision", "accept")]));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
    }

    private static Task<HttpResponseMessage> SubmitAsync(Harness h, HtmlForm form) =>
        h.Http.PostAsync(h.Url(form.Action), new FormUrlEncodedContent(form.Fields));

    private static List<HtmlForm> Forms(string html) =>
        FormPattern().Matches(html).Select(m => new HtmlForm(
            System.Net.WebUtility.HtmlDecode(m.Groups["action"].Value),
            InputPattern().Matches(m.Groups["body"].Value).ToDictionary(i => i.Groups["name"].Value, i => System.Net.WebUtility.HtmlDecode(i.Groups["value"].Value)),
            ButtonPattern().Match(m.Groups["body"].Value).Groups["label"].Value)).ToList();

    [GeneratedRegex("""<form[^>]*method="post"[^>]*action="(?<action>[^"]*)"[^>]*>(?<body>.*?)</form>""", RegexOptions.Singleline)]
    private static partial Regex FormPattern();

    [GeneratedRegex("""<input type="hidden" name="(?<name>[^"]*)" value="(?<value>[^"]*)">""")]
    private static partial Regex InputPattern();

    [GeneratedRegex("""<button[^>]*>(?<label>[^<]*)</button>""")]
    private static partial Regex ButtonPattern();

    private sealed record HtmlForm(string Action, Dictionary<string, string> Fields, string Button);
}
