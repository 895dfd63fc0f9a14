using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Storage;

[Collection(GatewayCollection.Name)]
public sealed class KeyRingTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task With_a_certificate_the_key_ring_in_redis_is_encrypted_and_unreadable_without_it()
    {
        var certificate = Path.Combine(TempDirectory.Create("cert"), "key-ring.pfx");
        using (var rsa = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=webex-gateway key ring", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
            await File.WriteAllBytesAsync(certificate, created.Export(X509ContentType.Pfx, "secret"));
        }

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

    [Fact]
    public async Task A_certificate_path_that_does_not_exist_fails_at_start_naming_the_key()
    {
        await using var emulator = await Webex.Emulator.WebexEmulator.StartAsync();
        await using var gateway = new GatewayHost(emulator, redis.ConnectionString, RedisFixture.NewKeyPrefix(),
            settings: new Dictionary<string, string?> { ["DataProtection:CertificatePath"] = "/nonexistent/key-ring.pfx" }, output: output);

        var error = GatewayHost.StartupFailure(gateway);

        Assert.Contains("DataProtection:CertificatePath", error.Message);
    }
}
