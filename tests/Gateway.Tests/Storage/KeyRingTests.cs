using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.KeyManagement.Internal;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WebexGateway.Auth;
using WebexGateway.Storage;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Storage;

[Collection(GatewayCollection.Name)]
public sealed class KeyRingTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task With_a_certificate_the_key_ring_in_redis_is_encrypted_and_unreadable_without_it()
    {
        var certificate = await CreateCertificateAsync();
        await using var world = await TestWorld.StartAsync(redis, output);
        var withCertificate = new Dictionary<string, string?>
        {
            ["DataProtection:CertificatePath"] = certificate,
            ["DataProtection:CertificatePassword"] = "secret",
        };
        var (gateway, browser) = await world.SignedInAsync(withCertificate);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        var twin = world.AddGateway(withCertificate);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(twin.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);

        var keyRing = (await world.Redis.DumpAsync(world.KeyPrefix))[$"{world.KeyPrefix}data-protection-keys"];
        Assert.Contains("encryptedSecret", keyRing);
        Assert.DoesNotContain("<masterKey", keyRing);

        var withoutCertificate = world.AddGateway();
        var denied = await browser.GetAsync(new Uri(withoutCertificate.Address, "/auth/user"));
        Assert.True(denied.StatusCode is HttpStatusCode.Unauthorized, $"answered {(int)denied.StatusCode}");
    }

    [Theory]
    [InlineData("plain text")]
    [InlineData("wrapped for the decryptor that needs no certificate")]
    public async Task With_a_certificate_a_key_planted_unencrypted_in_the_key_ring_is_refused_logged_and_fails_readiness(string form)
    {
        var certificate = await CreateCertificateAsync();
        var withCertificate = new Dictionary<string, string?>
        {
            ["DataProtection:CertificatePath"] = certificate,
            ["DataProtection:CertificatePassword"] = "secret",
        };
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(withCertificate);
        var db = redis.Redis.GetDatabase();
        var genuineKey = KeyIdOf((byte[])(await db.StringGetAsync($"{world.KeyPrefix}grant:{world.Person.Id}"))!);

        // Somebody with write access to Redis plants a key whose secret they know: one made as a gateway without a
        // certificate makes it, its master key in plain text, newer than every other key, so it would become the default.
        var plainPrefix = RedisFixture.NewKeyPrefix();
        await using (var plain = new GatewayHost(world.Emulator, redis.ConnectionString, plainPrefix, output: output))
        {
            _ = plain.Address;
        }

        var planted = XElement.Parse((string)(await db.ListRangeAsync($"{plainPrefix}data-protection-keys")).Single()!);
        var plantedKey = Guid.Parse(planted.Attribute("id")!.Value);
        var plantedSecret = planted.Descendants("value").Single().Value;
        if (form != "plain text")
        {
            // Data Protection's NullXmlDecryptor "decrypts" by unwrapping: an encryptedSecret anybody can write.
            var masterKey = planted.Descendants("masterKey").Single();
            XNamespace dataProtection = "http://schemas.asp.net/2015/03/dataProtection";
            masterKey.Attribute(dataProtection + "requiresEncryption")!.Remove();
            masterKey.ReplaceWith(new XElement(dataProtection + "encryptedSecret",
                new XAttribute("decryptorType", typeof(NullXmlDecryptor).AssemblyQualifiedName!),
                new XElement("unencryptedKey", new XElement(masterKey))));
        }

        var plantedXml = planted.ToString(SaveOptions.DisableFormatting);
        await db.ListRightPushAsync($"{world.KeyPrefix}data-protection-keys", plantedXml);
        await gateway.DisposeAsync();

        var restarted = world.AddGateway(withCertificate);
        using var newcomer = world.NewBrowser();
        await newcomer.SignInAsync(restarted.Address);

        // New cookies and grants are protected with the genuine key, never the planted one; it is not even in the ring.
        var cookie = Base64UrlTextEncoder.Decode(newcomer.SessionCookie(restarted.Address)!);
        Assert.Equal(genuineKey, KeyIdOf(cookie));
        Assert.Equal(genuineKey, KeyIdOf((byte[])(await db.StringGetAsync($"{world.KeyPrefix}grant:{world.Person.Id}"))!));
        Assert.DoesNotContain(restarted.Services.GetRequiredService<IKeyManager>().GetAllKeys(), key => key.KeyId == plantedKey);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(restarted.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);

        // Said loudly, by key id only, and the instance is not ready until somebody looks.
        Assert.Contains(restarted.Logs, line => line.StartsWith("Error", StringComparison.Ordinal) && line.Contains(plantedKey.ToString(), StringComparison.Ordinal));
        Assert.DoesNotContain(restarted.Logs, line => line.Contains(plantedSecret, StringComparison.Ordinal));
        var ready = await newcomer.GetAsync(new Uri(restarted.Address, "/readyz"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        using var json = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        var keyRing = json.RootElement.GetProperty("checks").GetProperty("key-ring");
        Assert.Equal("Unhealthy", keyRing.GetProperty("status").GetString());
        Assert.Contains(plantedKey.ToString(), keyRing.GetProperty("description").GetString());
    }

    [Fact]
    public async Task Two_gateways_starting_together_on_an_empty_store_agree_on_one_key_even_after_the_auto_refresh_window()
    {
        // Data Protection reads and writes the ring synchronously, and the race below holds each gateway's thread at its
        // turn, on this process's thread pool, which the embedded store the tests use answers on too. With only as many
        // threads as cores to start with, a held write could wait out its 2 s timeout before the pool grew: the race then
        // failed now and then for want of threads, not of order.
        using var threads = ThreadPoolFloor.Raise(32);
        await using var world = await TestWorld.StartAsync(redis, output);
        var race = new FirstKeyRace();
        await using var first = new GatewayHost(world.Emulator, redis.ConnectionString, world.KeyPrefix, output: output,
            services: s => s.PostConfigure<KeyManagementOptions>(o => o.XmlRepository = race.First(o.XmlRepository!)));
        await using var second = new GatewayHost(world.Emulator, redis.ConnectionString, world.KeyPrefix, output: output,
            services: s => s.PostConfigure<KeyManagementOptions>(o => o.XmlRepository = race.Second(o.XmlRepository!)));

        // Both find no key and both go on to create one.
        await Task.WhenAll(
            Task.Run(() => first.Address),
            Task.Run(async () =>
            {
                await race.FirstIsReading.WaitAsync(TimeSpan.FromSeconds(10));
                return second.Address;
            }));
        await race.SecondHasWritten.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(race.Ordered, "the two first key ring reads did not both find the store empty before a write");

        // Data Protection reloads its cached ring for an unknown key only in the first minutes after start; later, only
        // once a day. What is checked is the later case, so the window is closed as the time passing would close it.
        SetAutoRefreshWindowEnd(first, DateTime.UtcNow);
        SetAutoRefreshWindowEnd(second, DateTime.UtcNow);

        using var onFirst = world.NewBrowser();
        await onFirst.SignInAsync(first.Address);
        using var onSecond = world.NewBrowser();
        await onSecond.SignInAsync(second.Address);

        foreach (var (browser, gateway) in new[] { (onFirst, second), (onSecond, first), (onFirst, first), (onSecond, second) })
        {
            var me = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);
            Assert.True(me.StatusCode == HttpStatusCode.OK,
                $"a cookie signed in on {(browser == onFirst ? first.Name : second.Name)} answered {(int)me.StatusCode} on {gateway.Name}: {await me.Content.ReadAsStringAsync()}");
        }

        var db = redis.Redis.GetDatabase();
        var keys = (await db.ListRangeAsync($"{world.KeyPrefix}data-protection-keys"))
            .Select(element => XElement.Parse((string)element!)).Where(element => element.Name == "key").ToList();
        var keyId = Guid.Parse(Assert.Single(keys).Attribute("id")!.Value);
        Assert.Equal(keyId, KeyIdOf(Base64UrlTextEncoder.Decode(onFirst.SessionCookie(first.Address)!)));
        Assert.Equal(keyId, KeyIdOf(Base64UrlTextEncoder.Decode(onSecond.SessionCookie(second.Address)!)));
        Assert.Contains(second.Logs, line => line.Contains($"uses that key, {keyId}", StringComparison.Ordinal));
    }

    /// <remarks>
    /// Every forged cookie names a new made-up key, as an attacker's would. Before the rereads were limited, each one
    /// reread the key ring synchronously during Data Protection's start-up window; on the embedded store a flood of them
    /// starved the thread pool, and nobody, signed in or not, was served for as long as it lasted.
    /// </remarks>
    [Fact]
    public async Task Cookies_naming_unknown_keys_right_after_start_reread_the_key_ring_once_per_interval_and_are_401_while_sessions_are_served()
    {
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var gateway = world.AddGateway(time: time, redis: relay.ConnectionString);
        using var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);
        var me = new Uri(gateway.Address, "/webex/v1/people/me");
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(me, csrf: true)).StatusCode);
        SetAutoRefreshWindowEnd(gateway, DateTime.UtcNow.AddMinutes(2));
        var payload = Base64UrlTextEncoder.Decode(browser.SessionCookie(gateway.Address)!);
        var keyRing = $"{world.KeyPrefix}data-protection-keys";
        int Rereads() => relay.Commands.Count(c => c.Name == "LRANGE" && c.Arguments.Contains(keyRing));
        var rereadsBefore = Rereads();
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };

        async Task<(HttpStatusCode Status, string Body)> ForgedAsync()
        {
            var forged = payload.ToArray();
            Guid.NewGuid().TryWriteBytes(forged.AsSpan(4, 16));
            using var request = new HttpRequestMessage(HttpMethod.Get, me);
            request.Headers.Add("Cookie", $"{AuthExtensions.SessionCookieName}={Base64UrlTextEncoder.Encode(forged)}");
            request.Headers.Add("X-CSRF", "1");
            using var response = await http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var flood = Stopwatch.StartNew();
        var forgedAnswers = new ConcurrentBag<(HttpStatusCode Status, string Body)>();
        var signedInAnswers = new ConcurrentBag<HttpStatusCode>();
        await Parallel.ForAsync(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            forgedAnswers.Add(await ForgedAsync());
            if (i % 20 == 0)
            {
                signedInAnswers.Add((await browser.GetAsync(me, csrf: true)).StatusCode);
            }
        });
        output.WriteLine($"200 forged cookies and 10 signed-in calls took {flood.ElapsedMilliseconds} ms");

        Assert.All(forgedAnswers, answer =>
        {
            Assert.Equal(HttpStatusCode.Unauthorized, answer.Status);
            Assert.Equal("login_required", JsonDocument.Parse(answer.Body).RootElement.GetProperty("error").GetString());
        });
        Assert.All(signedInAnswers, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal(1, Rereads() - rereadsBefore);

        // Once the interval has passed, an unknown key may have the ring reread again, once.
        time.Advance(UnknownKeyRereads.Interval);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ForgedAsync()).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ForgedAsync()).Status);
        Assert.Equal(2, Rereads() - rereadsBefore);
    }

    [Fact]
    public async Task A_certificate_path_that_does_not_exist_fails_at_start_naming_the_key()
    {
        await using var emulator = await Webex.Emulator.WebexEmulator.StartAsync();
        await using var gateway = new GatewayHost(emulator, redis.ConnectionString, RedisFixture.NewKeyPrefix(),
            settings: new Dictionary<string, string?> { ["DataProtection:CertificatePath"] = "/nonexistent/key-ring.pfx" }, output: output);

        var error = GatewayHost.StartupFailure(gateway);

        Assert.Contains("DataProtection:CertificatePath", error.Message);
    }

    /// <summary>
    /// Moves the end of Data Protection's start-up window in which a payload under an unknown key reloads the cached key
    /// ring (<c>KeyRingProvider.AutoRefreshWindowEnd</c>, two minutes of wall-clock time from the provider's creation,
    /// which no TimeProvider reaches).
    /// </summary>
    private static void SetAutoRefreshWindowEnd(GatewayHost gateway, DateTime end)
    {
        var provider = gateway.Services.GetRequiredService<IKeyRingProvider>();
        var windowEnd = provider.GetType().GetProperty("AutoRefreshWindowEnd", BindingFlags.Instance | BindingFlags.NonPublic);
        Assert.True(windowEnd is not null, "Data Protection's key ring provider has no AutoRefreshWindowEnd any more: check how it reloads the ring");
        windowEnd.SetValue(provider, end);
    }

    /// <summary>
    /// Two gateways' key ring repositories (the gateway's own, wrapped) that take their turns as in an unlucky
    /// simultaneous start on an empty store. The first starts its key ring (its clock read) and, before its read, lets
    /// the second start and read (nothing); then the first reads (nothing), writes its key and reads the ring back (its
    /// key alone); only then does the second write its key, the newer of the two, and read both back.
    /// </summary>
    private sealed class FirstKeyRace
    {
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
        private readonly TaskCompletionSource _firstReading = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _secondReadEmpty = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _firstReread = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _secondWritten = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _firstReadEmpty;

        public Task FirstIsReading => _firstReading.Task;

        public Task SecondHasWritten => _secondWritten.Task;

        /// <summary>Both read an empty store, and the second wrote only after the first had read its own key back.</summary>
        public bool Ordered => _secondReadEmpty.Task.IsCompletedSuccessfully && _firstReadEmpty && _firstReread.Task.IsCompletedSuccessfully;

        public IXmlRepository First(IXmlRepository stored) => new Turns(stored,
            beforeRead: written =>
            {
                if (!written)
                {
                    _firstReading.TrySetResult();
                    _secondReadEmpty.Task.Wait(Patience);
                }
            },
            afterRead: (elements, written) =>
            {
                if (!written)
                {
                    _firstReadEmpty = elements.Count == 0 && _secondReadEmpty.Task.IsCompleted;
                }
                else
                {
                    _firstReread.TrySetResult();
                }
            },
            beforeWrite: () => { },
            afterWrite: () => { });

        public IXmlRepository Second(IXmlRepository stored) => new Turns(stored,
            beforeRead: _ => { },
            afterRead: (elements, written) =>
            {
                if (!written && elements.Count == 0)
                {
                    _secondReadEmpty.TrySetResult();
                }
            },
            beforeWrite: () => _firstReread.Task.Wait(Patience),
            afterWrite: () => _secondWritten.TrySetResult());

        private sealed class Turns(IXmlRepository stored, Action<bool> beforeRead, Action<IReadOnlyCollection<XElement>, bool> afterRead,
            Action beforeWrite, Action afterWrite) : IXmlRepository
        {
            private volatile bool _written;

            public IReadOnlyCollection<XElement> GetAllElements()
            {
                beforeRead(_written);
                var elements = stored.GetAllElements();
                afterRead(elements, _written);
                return elements;
            }

            public void StoreElement(XElement element, string friendlyName)
            {
                if (!_written)
                {
                    beforeWrite();
                }

                stored.StoreElement(element, friendlyName);
                _written = true;
                afterWrite();
            }
        }
    }

    /// <summary>Raises the thread pool's minimum worker threads for a test, and puts it back after.</summary>
    private sealed class ThreadPoolFloor : IDisposable
    {
        private readonly int _workers;
        private readonly int _io;

        private ThreadPoolFloor()
        {
            ThreadPool.GetMinThreads(out _workers, out _io);
        }

        public static ThreadPoolFloor Raise(int workers)
        {
            var floor = new ThreadPoolFloor();
            ThreadPool.SetMinThreads(Math.Max(workers, floor._workers), floor._io);
            return floor;
        }

        public void Dispose() => ThreadPool.SetMinThreads(_workers, _io);
    }

    /// <summary>The id of the key that protected a Data Protection payload: after the 4-byte magic header.</summary>
    private static Guid KeyIdOf(byte[] payload) => new(payload.AsSpan(4, 16));

    private static async Task<string> CreateCertificateAsync()
    {
        var certificate = Path.Combine(TempDirectory.Create("cert"), "key-ring.pfx");
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=webex-gateway key ring", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        await File.WriteAllBytesAsync(certificate, created.Export(X509ContentType.Pfx, "secret"));
        return certificate;
    }
}
