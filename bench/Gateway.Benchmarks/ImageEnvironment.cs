using System.Text.RegularExpressions;

namespace WebexGateway.Benchmarks;

/// <summary>
/// The runtime's <c>DOTNET_</c> variables the gateway's image sets (<c>ENV</c> lines of the repository's Dockerfile):
/// the gateway is measured as it ships, and so is raw YARP on the gateway's runtime settings.
/// </summary>
internal static partial class ImageEnvironment
{
    public static IReadOnlyDictionary<string, string> Read()
    {
        var dockerfile = Path.Combine(RepositoryRoot(), "Dockerfile");
        return File.ReadLines(dockerfile)
            .Select(line => RuntimeVariable().Match(line))
            .Where(match => match.Success)
            .ToDictionary(match => match.Groups["name"].Value, match => match.Groups["value"].Value, StringComparer.Ordinal);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Gateway.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Gateway.sln above {AppContext.BaseDirectory}: the benchmark runs from the repository.");
    }

    [GeneratedRegex(@"^ENV\s+(?<name>DOTNET_\w+)=(?<value>\S+)\s*$")]
    private static partial Regex RuntimeVariable();
}
