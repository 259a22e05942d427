using System.ServiceModel.Channels;
using System.ServiceModel.Description;
using System.ServiceModel.Dispatcher;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>
/// Puts every answer of a typed client's SOAP channel into a <see cref="ResponseLog"/>, so that what the typed client
/// received is validated against the schemas at the end of the test as the hand-built requests' answers are: WCF's HTTP
/// transport takes a <c>Func&lt;HttpClientHandler, HttpMessageHandler&gt;</c> binding parameter to wrap its handler.
/// </summary>
public sealed class ResponseRecording(ResponseLog log) : IEndpointBehavior
{
    public void AddBindingParameters(ServiceEndpoint endpoint, BindingParameterCollection bindingParameters) =>
        bindingParameters.Add(new Func<HttpClientHandler, HttpMessageHandler>(handler => new RecordingHandler(handler, log)));

    public void ApplyClientBehavior(ServiceEndpoint endpoint, ClientRuntime clientRuntime)
    {
    }

    public void ApplyDispatchBehavior(ServiceEndpoint endpoint, EndpointDispatcher endpointDispatcher)
    {
    }

    public void Validate(ServiceEndpoint endpoint)
    {
    }

    private sealed class RecordingHandler(HttpMessageHandler inner, ResponseLog log) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            log.Add(new RecordedResponse($"{request.Method} {request.RequestUri?.AbsolutePath} (typed client)", (int)response.StatusCode,
                response.Content.Headers.ContentType?.ToString(), body, ExpectSoap: true));
            return response;
        }
    }
}
