namespace Webex.Emulator.Internal;

/// <summary>An authorization request; <paramref name="PersonId"/> is who consents (the login hint's person, or the default).</summary>
internal sealed record AuthorizationRequest(string ClientId, string RedirectUri, string Scope, string? State, string? CodeChallenge, string PersonId);

/// <summary>What a valid access token stands for: whose it is, the integration it was issued to and the scopes granted.</summary>
internal sealed record TokenGrant(string PersonId, string ClientId, string Scope)
{
    public bool HasScope(string scope) => Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(scope, StringComparer.Ordinal);
}

internal sealed record TokenSet(string AccessToken, TimeSpan AccessTokenExpiresIn, string RefreshToken, TimeSpan RefreshTokenExpiresIn, string Scope);

/// <summary>The outcome of a grant: tokens, or an OAuth error code with its description.</summary>
internal sealed record GrantResult(TokenSet? Tokens, string Error = "", string Description = "")
{
    public static GrantResult InvalidGrant(string description) => new(null, "invalid_grant", description);
}

/// <summary>Pending consents, authorization codes and tokens. One lock guards everything: contention is irrelevant here.</summary>
internal sealed class OAuthStore(EmulatorSettings settings)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (AuthorizationRequest Request, DateTimeOffset ExpiresAt)> _consents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CodeEntry> _codes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AccessTokenEntry> _accessTokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RefreshTokenEntry> _refreshTokens = new(StringComparer.Ordinal);
    private readonly HashSet<string> _issuedSet = new(StringComparer.Ordinal);
    private readonly List<string> _issued = [];
    private readonly Dictionary<string, string> _lastAccessTokenByPerson = new(StringComparer.Ordinal);
    private string? _lastAccessToken;

    private DateTimeOffset Now => settings.Time.GetUtcNow();

    public IReadOnlyCollection<string> IssuedSecrets
    {
        get
        {
            lock (_gate)
            {
                return _issued.ToArray();
            }
        }
    }

    public string? LastAccessToken
    {
        get
        {
            lock (_gate)
            {
                return _lastAccessToken;
            }
        }
    }

    /// <summary>The last access token issued to the person, or null.</summary>
    public string? LastAccessTokenFor(string personId)
    {
        lock (_gate)
        {
            return _lastAccessTokenByPerson.GetValueOrDefault(personId);
        }
    }

    /// <summary>Whose code this is (whatever its state), or null when unknown.</summary>
    public string? CodeOwner(string code)
    {
        lock (_gate)
        {
            return _codes.TryGetValue(code, out var entry) ? entry.Request.PersonId : null;
        }
    }

    /// <summary>Whose refresh token this is (whatever its state), or null when unknown.</summary>
    public string? RefreshTokenOwner(string refreshToken)
    {
        lock (_gate)
        {
            return _refreshTokens.TryGetValue(refreshToken, out var entry) ? entry.PersonId : null;
        }
    }

    public string CreateConsent(AuthorizationRequest request)
    {
        lock (_gate)
        {
            var id = Secrets.NewOpaqueId();
            _consents[id] = (request, Now + settings.ConsentLifetime);
            return id;
        }
    }

    /// <summary>Removes and returns a pending consent; null when unknown, already answered or expired.</summary>
    public AuthorizationRequest? TakeConsent(string id)
    {
        lock (_gate)
        {
            return _consents.Remove(id, out var consent) && Now < consent.ExpiresAt ? consent.Request : null;
        }
    }

    public string IssueCode(AuthorizationRequest request)
    {
        lock (_gate)
        {
            var code = NewSecret();
            _codes[code] = new CodeEntry(request, Now + settings.CodeLifetime);
            return code;
        }
    }

    public GrantResult RedeemCode(string clientId, string code, string? redirectUri, string? codeVerifier)
    {
        lock (_gate)
        {
            if (!_codes.TryGetValue(code, out var entry))
            {
                return GrantResult.InvalidGrant("The authorization code is invalid.");
            }

            if (entry.Used)
            {
                return GrantResult.InvalidGrant("The authorization code has already been used.");
            }

            // Any redemption attempt burns the code, so a failed guess cannot be retried.
            entry.Used = true;
            var request = entry.Request;
            if (Now >= entry.ExpiresAt)
            {
                return GrantResult.InvalidGrant("The authorization code has expired.");
            }

            if (!string.Equals(request.ClientId, clientId, StringComparison.Ordinal))
            {
                return GrantResult.InvalidGrant("The authorization code was issued to another client.");
            }

            if (!string.Equals(request.RedirectUri, redirectUri, StringComparison.Ordinal))
            {
                return GrantResult.InvalidGrant("The redirect_uri does not match the one used in the authorization request.");
            }

            if (request.CodeChallenge is { } challenge)
            {
                if (string.IsNullOrEmpty(codeVerifier))
                {
                    return GrantResult.InvalidGrant("The code_verifier is required.");
                }

                if (!Pkce.Matches(codeVerifier, challenge))
                {
                    return GrantResult.InvalidGrant("The code_verifier does not match the code_challenge.");
                }
            }

            var refreshToken = NewSecret();
            var refresh = new RefreshTokenEntry(clientId, request.Scope, request.PersonId) { ExpiresAt = Now + settings.RefreshTokenLifetime };
            _refreshTokens[refreshToken] = refresh;
            return new GrantResult(Tokens(NewAccessToken(request.PersonId, clientId, request.Scope), refreshToken, refresh));
        }
    }

    public GrantResult Refresh(string clientId, string refreshToken, string? requestedScope, bool rotate)
    {
        lock (_gate)
        {
            if (!_refreshTokens.TryGetValue(refreshToken, out var entry))
            {
                return GrantResult.InvalidGrant("The refresh token is invalid.");
            }

            if (entry.Revoked)
            {
                return GrantResult.InvalidGrant("The refresh token has been revoked.");
            }

            if (Now >= entry.ExpiresAt)
            {
                return GrantResult.InvalidGrant("The refresh token has expired.");
            }

            if (!string.Equals(entry.ClientId, clientId, StringComparison.Ordinal))
            {
                return GrantResult.InvalidGrant("The refresh token was issued to another client.");
            }

            if (!string.IsNullOrWhiteSpace(requestedScope))
            {
                var granted = ScopeSet(entry.Scope);
                if (!ScopeSet(requestedScope).IsSubsetOf(granted))
                {
                    return new GrantResult(null, "invalid_scope", "The requested scope exceeds the scope originally granted.");
                }
            }

            if (rotate)
            {
                entry.Revoked = true;
                refreshToken = NewSecret();
                entry = new RefreshTokenEntry(clientId, entry.Scope, entry.PersonId);
                _refreshTokens[refreshToken] = entry;
            }

            entry.ExpiresAt = Now + settings.RefreshTokenLifetime;
            return new GrantResult(Tokens(NewAccessToken(entry.PersonId, entry.ClientId, entry.Scope), refreshToken, entry));
        }
    }

    /// <summary>The grant behind a valid access token; null when the token is unknown, expired or forced expired.</summary>
    public TokenGrant? AccessTokenGrant(string token)
    {
        lock (_gate)
        {
            return _accessTokens.TryGetValue(token, out var entry) && !entry.ForcedExpired && Now < entry.ExpiresAt
                ? new TokenGrant(entry.PersonId, entry.ClientId, entry.Scope)
                : null;
        }
    }

    /// <summary>Forces every access token issued so far (only the person's, when given) to answer 401.</summary>
    public void ExpireAccessTokens(string? personId = null)
    {
        lock (_gate)
        {
            foreach (var entry in _accessTokens.Values)
            {
                if (personId is null || entry.PersonId == personId)
                {
                    entry.ForcedExpired = true;
                }
            }
        }
    }

    public void RevokeRefreshTokens()
    {
        lock (_gate)
        {
            foreach (var entry in _refreshTokens.Values)
            {
                entry.Revoked = true;
            }
        }
    }

    private static HashSet<string> ScopeSet(string scope) =>
        new(scope.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.Ordinal);

    // Every grant starts a full refresh lifetime (a refresh renews it), so both lifetimes are the configured ones.
    private TokenSet Tokens(string accessToken, string refreshToken, RefreshTokenEntry refresh) =>
        new(accessToken, settings.AccessTokenLifetime, refreshToken, settings.RefreshTokenLifetime, refresh.Scope);

    private string NewAccessToken(string personId, string clientId, string scope)
    {
        var token = NewSecret();
        _accessTokens[token] = new AccessTokenEntry(Now + settings.AccessTokenLifetime, personId, clientId, scope);
        _lastAccessToken = token;
        _lastAccessTokenByPerson[personId] = token;
        return token;
    }

    private string NewSecret()
    {
        string secret;
        do
        {
            secret = Secrets.NewToken(settings.OrgGuid);
        }
        while (!_issuedSet.Add(secret));

        _issued.Add(secret);
        return secret;
    }

    private sealed class CodeEntry(AuthorizationRequest request, DateTimeOffset expiresAt)
    {
        public AuthorizationRequest Request { get; } = request;

        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        public bool Used { get; set; }
    }

    private sealed class AccessTokenEntry(DateTimeOffset expiresAt, string personId, string clientId, string scope)
    {
        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        public string PersonId { get; } = personId;

        public string ClientId { get; } = clientId;

        public string Scope { get; } = scope;

        public bool ForcedExpired { get; set; }
    }

    private sealed class RefreshTokenEntry(string clientId, string scope, string personId)
    {
        public string ClientId { get; } = clientId;

        public string PersonId { get; } = personId;

        public string Scope { get; } = scope;

        public DateTimeOffset ExpiresAt { get; set; }

        public bool Revoked { get; set; }
    }
}
