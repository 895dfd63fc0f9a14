using WebexGateway.Apis;
using WebexGateway.Apps;
using WebexGateway.Auth;
using WebexGateway.Configuration;
using WebexGateway.Demo;
using WebexGateway.Edge;
using WebexGateway.Events;
using WebexGateway.Grants;
using WebexGateway.Limits;
using WebexGateway.Outbound;
using WebexGateway.Proxy;
using WebexGateway.Refusals;
using WebexGateway.Storage;
using WebexGateway.Telemetry;
using WebexGateway.Webhooks;

var builder = WebApplication.CreateBuilder(args);

builder.AddGatewayConfiguration();
builder.AddServiceDefaults();
builder.AddEdge();
builder.AddRefusals();
builder.AddDemoMode();
builder.AddStorage();
builder.AddWebexClients();
builder.AddGrants();
builder.AddWebexAuthentication();
builder.AddWebexProxy();
builder.AddLimits();
builder.AddLiveEvents();
builder.AddWebexWebhooks();
builder.AddGatewayCors();

var app = builder.Build();

app.UseEdge();
app.UseExceptionHandler();
app.UseManagementEndpoint();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseStaticApps();
app.UseGatewayCors();
app.UseWebexAuthentication();

app.MapDefaultEndpoints();
app.MapAuthApi();
app.MapWebexProxy();
app.MapLiveEvents();
app.MapWebexWebhooks();

app.Run();

public partial class Program;
