using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OAuth;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;
using WebexGateway.Grants;

namespace WebexGateway.Auth;

public static class AuthExtensions
{
    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;
    public const string WebexScheme = "Webex";
    public const string SessionCookieName = "webex-gateway.session";

    public static IHostApplicationBuilder AddWebexAuthentication(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<RedisTicketStore>();
        services.AddSingleton<WebexSignIn>();

        services.AddAuthentication(options =>
            {
                // No default authenticate scheme: only the endpoints that need a session read it from Redis.
                options.DefaultSignInScheme = CookieScheme;
                options.DefaultChallengeScheme = WebexScheme;
            })
            .AddCookie(CookieScheme)
            .AddOAuth<OAuthOptions, WebexOAuthHandler>(WebexScheme, _ => { });

        services.AddOptions<CookieAuthenticationOptions>(CookieScheme)
            .Configure<RedisTicketStore>((options, store) =>
            {
                options.SessionStore = store;
                options.Cookie.Name = SessionCookieName;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.SlidingExpiration = true;
                options.ExpireTimeSpan = TimeSpan.FromDays(14);
                options.Events.OnRedirectToLogin = context => AuthResults.LoginRequired(context.HttpContext).ExecuteAsync(context.HttpContext);
                options.Events.OnRedirectToAccessDenied = context => AuthResults.CsrfRequired().ExecuteAsync(context.HttpContext);
            });

        services.AddOptions<OAuthOptions>(WebexScheme)
            .Configure<IOptions<WebexOptions>, WebexSignIn>((options, webex, signIn) =>
            {
                var config = webex.Value;
                options.ClientId = config.ClientId ?? "";
                options.ClientSecret = config.ClientSecret ?? "";
                options.AuthorizationEndpoint = config.AuthorizeUrl!;
                options.TokenEndpoint = config.TokenUrl!;
                options.CallbackPath = "/auth/callback";
                options.UsePkce = true;
                options.SaveTokens = false;
                options.RemoteAuthenticationTimeout = WebexOAuthHandler.StateLifetime;
                options.CorrelationCookie.SameSite = SameSiteMode.Lax;
                options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.Scope.Clear();
                foreach (var scope in config.ScopeList)
                {
                    options.Scope.Add(scope);
                }

                options.Events.OnCreatingTicket = signIn.OnCreatingTicketAsync;
                options.Events.OnAccessDenied = signIn.OnAccessDeniedAsync;
                options.Events.OnRemoteFailure = signIn.OnRemoteFailureAsync;
            });

        return builder;
    }
}
