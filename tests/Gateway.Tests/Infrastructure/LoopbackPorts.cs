using System.Net;
using System.Net.Sockets;

namespace WebexGateway.Tests.Infrastructure;

/// <summary>
/// A free port for a server a test starts with a fixed address (redis-server, a management URL). It is taken below the
/// kernel's ephemeral range: a port from there, free when checked, can be taken by any outgoing connection before the
/// server binds it, which a busy test run does.
/// </summary>
public static class LoopbackPorts
{
    private const int Lowest = 10_000;

    public static int Free()
    {
        var below = EphemeralRangeStart();
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var port = Random.Shared.Next(Lowest, below);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
        }

        throw new InvalidOperationException($"No free loopback port between {Lowest} and {below} after 100 tries.");
    }

    private static int EphemeralRangeStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture) is var start and > Lowest + 1_000 ? start : 32_768;
        }
        catch (IOException)
        {
            return 32_768;
        }
    }
}
