using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OAuth;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;
using WebexGateway.Grants;
using WebexGateway.Refusals;
using WebexGateway.Storage;

namespace WebexGateway.Auth;

public static class AuthExtensions
{
    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;
    public const string WebexScheme = "Webex";
    public const string SessionCookieName = "webex-gateway.session";
    public const string SecureSessionCookieName = "__Host-webex-gateway.session";

    /// <summary>Over https, the sign-in's correlation cookie is this followed by the nonce its state names.</summary>
    public const string SecureCorrelationCookiePrefix = "__Host-webex-gateway.correlation.";

    public static IHostApplicationBuilder AddWebexAuthentication(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<RedisTicketStore>();
        services.AddSingleton<WebexSignIn>();
        services.AddSingleton<SessionCookies>();
        services.AddSingleton<SignedInGrants>();
        services.AddOptions<SignInLimitOptions>().BindConfiguration(SignInLimitOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SignInLimitOptions>, SignInLimitOptionsValidation>();
        services.AddSingleton<SignInLimits>();
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.AddPolicy<System.Net.IPAddress, SignInStartPolicy>(SignInLimits.StartPolicy);
        });

        services.AddAuthentication(options =>
            {
                // No default authenticate scheme: only the endpoints that need a session read it from Redis.
                options.DefaultSignInScheme = CookieScheme;
                options.DefaultChallengeScheme = WebexScheme;
            })
            .AddCookie(CookieScheme)
            .AddOAuth<OAuthOptions, WebexOAuthHandler>(WebexScheme, _ => { });

        services.AddOptions<CookieAuthenticationOptions>(CookieScheme)
            .Configure<RedisTicketStore, IOptions<WebexOptions>, IOptions<SessionLifetimeOptions>, TimeProvider>((options, store, webex, lifetime, time) =>
            {
                options.SessionStore = store;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                if (IsServedOverHttps(webex.Value))
                {
                    // Served over https: the __Host- prefix makes browsers refuse the cookie from anything but this exact host, over https, for path /.
                    options.Cookie.Name = SecureSessionCookieName;
                    options.Cookie.SecurePolicy = CookieSecurePolicy.Always;
                    options.Cookie.Path = "/";
                }
                else
                {
                    options.Cookie.Name = SessionCookieName;
                    options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                }

                options.SlidingExpiration = true;
                options.ExpireTimeSpan = lifetime.Value.IdleTimeout;
                options.Events.OnSigningIn = context =>
                {
                    context.Properties.Items[StoredSession.SignedInAtKey] = time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
                    return Task.CompletedTask;
                };
                options.Events.OnValidatePrincipal = async context =>
                {
                    // Sliding renewal moves IssuedUtc, so the sign-in time is kept apart to enforce the absolute lifetime.
                    if (StoredSession.IsPastAbsoluteLifetime(StoredSession.SignedInAtOf(context.Properties), lifetime.Value.AbsoluteLifetime, time.GetUtcNow()))
                    {
                        context.RejectPrincipal();
                        await context.HttpContext.SignOutAsync(CookieScheme);
                    }
                };
                options.Events.OnRedirectToLogin = context => Refuse.LoginRequired(context.HttpContext).ExecuteAsync(context.HttpContext);
                options.Events.OnRedirectToAccessDenied = context => Refuse.CsrfRequired.ExecuteAsync(context.HttpContext);
            });
        // After ASP.NET Core made the cookie's format: the same format, remembering what it decrypted, and telling a key
        // ring the store cannot give (503) from a cookie that is not ours (401).
        services.AddOptions<CookieAuthenticationOptions>(CookieScheme).PostConfigure<UnknownKeyRereads>((options, rereads) => options.TicketDataFormat =
            new RememberedCookies(new KeyRingCheckedFormat<AuthenticationTicket>(options.TicketDataFormat, options.DataProtectionProvider!, rereads), CookieScheme));

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
                if (IsServedOverHttps(config))
                {
                    // The only tie between the callback and the browser that started the sign-in: a cookie planted from a
                    // sibling subdomain or over plain http would sign the victim in as the attacker (login CSRF). A
                    // __Host- cookie can only come from this host over https; it must have Path=/ and be Secure, even
                    // when TLS ends at a proxy and Kestrel itself sees http.
                    options.CorrelationCookie.Name = SecureCorrelationCookiePrefix;
                    options.CorrelationCookie.Path = "/";
                    options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.Always;
                }
                else
                {
                    options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                }

                options.Scope.Clear();
                foreach (var scope in config.ScopeList)
                {
                    options.Scope.Add(scope);
                }

                options.Events.OnCreatingTicket = signIn.OnCreatingTicketAsync;
                options.Events.OnTicketReceived = signIn.OnTicketReceivedAsync;
                options.Events.OnAccessDenied = signIn.OnAccessDeniedAsync;
                options.Events.OnRemoteFailure = signIn.OnRemoteFailureAsync;
            });

        // Likewise for the OAuth state: a key ring the store cannot give is a 503 page, not "forged or expired".
        services.AddOptions<OAuthOptions>(WebexScheme).PostConfigure<UnknownKeyRereads>((options, rereads) => options.StateDataFormat =
            new KeyRingCheckedFormat<AuthenticationProperties>(options.StateDataFormat, options.DataProtectionProvider!, rereads));

        return builder;
    }

    /// <summary>The gateway's public address is https (its configured redirect URI says so), whatever Kestrel itself sees.</summary>
    private static bool IsServedOverHttps(WebexOptions webex) =>
        webex.RedirectUri?.StartsWith("https:", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>
    /// The authentication middleware serves one request: the OAuth callback (there is no default scheme; the session is
    /// read only where it is needed). Anywhere else it would build the OAuth handler for every call just to hear "not mine".
    /// </summary>
    public static IApplicationBuilder UseWebexAuthentication(this IApplicationBuilder app)
    {
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/auth"), auth =>
        {
            // The sign-in starts' limit (the endpoint's policy); the callback's is the OAuth handler's own.
            auth.UseRateLimiter();
            auth.UseAuthentication();
        });
        // WebApplication adds the middleware in front of everything unless UseAuthentication marked the app; the branch's
        // mark stays in the branch, so the app is marked here (the key UseAuthentication itself sets).
        app.Properties["__AuthenticationMiddlewareSet"] = true;
        return app;
    }
}
