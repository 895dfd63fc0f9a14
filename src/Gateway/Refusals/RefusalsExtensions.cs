namespace WebexGateway.Refusals;

public static class RefusalsExtensions
{
    /// <summary>
    /// A request the client broke (a body that stops arriving, a malformed body) surfaces as BadHttpRequestException
    /// wherever the body is read; it is the client's 4xx (408, 413, 400), never a 500.
    /// </summary>
    public static IHostApplicationBuilder AddRefusals(this IHostApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.Configure<ExceptionHandlerOptions>(options => options.StatusCodeSelector = exception =>
            exception is BadHttpRequestException badRequest ? badRequest.StatusCode : StatusCodes.Status500InternalServerError);
        return builder;
    }
}
