using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
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
    public async Task A_certificate_path_that_does_not_exist_fails_at_start_naming_the_key()
    {
        await using var emulator = await Webex.Emulator.WebexEmulator.StartAsync();
        await using var gateway = new GatewayHost(emulator, redis.ConnectionString, RedisFixture.NewKeyPrefix(),
            settings: new Dictionary<string, string?> { ["DataProtection:CertificatePath"] = "/nonexistent/key-ring.pfx" }, output: output);

        var error = GatewayHost.StartupFailure(gateway);

        Assert.Contains("DataProtection:CertificatePath", error.Message);
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
