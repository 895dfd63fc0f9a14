using Microsoft.AspNetCore.Http;
using Webex.Emulator.Internal;

namespace Webex.Emulator.Endpoints;

internal static class PeopleEndpoints
{
    public static void Map(Router router) => router
        .Map(HttpMethods.Get, "v1/people/me", GetMeAsync)
        .Map(HttpMethods.Get, "v1/people/{}", GetPersonAsync);

    private static Task GetMeAsync(RequestContext r) =>
        WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, r.Me);

    private static Task GetPersonAsync(RequestContext r) =>
        r.State.Data.GetPerson(r.Args[0]) is { } person
            ? WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, person)
            : WebexErrors.NotFoundAsync(r.Http, "Person not found.");
}
