using WebexGateway.Benchmarks.RawYarp;

// Raw YARP, the benchmark's reference point (RawYarpApp): /webex/{**path} forwarded to one upstream with a static Bearer.
//   dotnet RawYarp.dll --urls http://127.0.0.1:<port> --Upstream=http://127.0.0.1:<port> [--StaticToken=<token>]
RawYarpApp.Build(args).Run();
