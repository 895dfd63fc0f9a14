using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(WebexGateway.Micro.RequestPathChecks).Assembly).Run(args);
