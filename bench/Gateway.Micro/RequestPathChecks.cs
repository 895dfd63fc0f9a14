using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using WebexGateway.Edge;
using WebexGateway.Limits;
using WebexGateway.Proxy;

namespace WebexGateway.Micro;

/// <summary>
/// The checks every call on a Webex route pays for whatever it asks, on the benchmark's call (<c>GET
/// /webex/v1/people/me</c>) and on a messages call: what the messages <c>files</c> rewrite costs the calls it does not
/// rewrite, and what the per-call decisions of the request path cost beside the ~60 µs of a proxied call.
/// </summary>
[MemoryDiagnoser]
public class RequestPathChecks
{
    private static readonly UpstreamPath Route = new("/webex", "");

    private readonly DefaultHttpContext _peopleMe = Get("/webex/v1/people/me");
    private readonly DefaultHttpContext _messages = Get("/webex/v1/messages");

    /// <summary>What the files rewrite asks of a call it leaves alone: once for the request, once for the answer.</summary>
    [Benchmark]
    public bool MessagesRewrite_skips_people_me() => MessageFiles.IsMessagesCall(_peopleMe, Route) | MessageFiles.IsMessagesCall(_peopleMe, Route);

    [Benchmark]
    public bool MessagesRewrite_takes_messages() => MessageFiles.IsMessagesCall(_messages, Route) | MessageFiles.IsMessagesCall(_messages, Route);

    /// <summary>The resource a call's cool-down and limit are kept for.</summary>
    [Benchmark]
    public string Resource_of_people_me() => WebexResource.Of(_peopleMe.Request.Path, Route);

    [Benchmark]
    public bool Dot_segments_in_people_me() => DotSegments.IsIn(_peopleMe);

    private static DefaultHttpContext Get(string path)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Get;
        context.Request.Path = path;
        return context;
    }
}
