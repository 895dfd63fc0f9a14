using WebexGateway.Apis;
using WebexGateway.Auth;
using WebexGateway.Demo;
using WebexGateway.Extensions;
using WebexGateway.Proxy;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

var builder = WebApplication.CreateBuilder(args);

builder.AddGatewayConfiguration();
builder.AddServiceDefaults();
builder.AddDemoMode();
builder.AddStorage();
builder.AddGrants();
builder.AddWebexAuthentication();
builder.AddWebexProxy();
builder.AddGatewayCors();

var app = builder.Build();

app.UseExceptionHandler();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseStaticApps();
app.UseCors();
app.UseAuthentication();

app.MapDefaultEndpoints();
app.MapAuthApi();
app.MapWebexProxy();

app.Run();

public partial class Program;
