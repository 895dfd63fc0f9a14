# syntax=docker/dockerfile:1
# The gateway's image: built with the SDK, run on the ASP.NET Core runtime image as the non-root `app` user.
#   docker build -t webex-gateway .        (docker-compose.yml builds it for gateway-1 and gateway-2)

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /source
COPY Directory.Build.props Directory.Packages.props gateway.json ./
COPY src/ src/
# The NuGet cache mount keeps downloaded packages between builds without listing each project file here (a new
# project under src/ needs no change to this file).
# UseAppHost=false: the image runs `dotnet Gateway.dll`, so the native launcher is not needed.
# gateway.json is linked into the project and published beside Gateway.dll, where the gateway reads it.
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish src/Gateway/Gateway.csproj -c Release -o /app -p:UseAppHost=false \
 && test -f /app/gateway.json

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# The published files stay owned by root and read-only to the app user; it writes nothing beside them (Redis keeps
# the state; the embedded store is for single-instance runs without Redis:ConnectionString).
USER app
ENV ASPNETCORE_HTTP_PORTS=8080 \
    ASPNETCORE_ENVIRONMENT=Production
# A 16 MiB gen-0 budget. Where the runtime cannot read the CPU's cache size (common on VMs), workstation GC falls back
# to a budget of a few MiB: with 10,000 sessions cached it collected about 45 times a second and paused the gateway for
# 8% of the time; with this, 7 times and 2%, for 5 MiB more peak RSS (README, Performance). Only an environment variable
# sets it (hex bytes); bench/ starts the gateway with every DOTNET_ variable set here.
ENV DOTNET_GCgen0size=0x1000000
EXPOSE 8080
# Liveness on /healthz without curl or wget (the runtime image has neither): bash's /dev/tcp sends one request and the
# status line must say 200.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["dotnet", "Gateway.dll"]
