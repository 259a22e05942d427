using System.Net.Security;
using System.ServiceModel.Channels;
using System.ServiceModel.Description;
using System.ServiceModel.Dispatcher;

namespace GuestOps.Client;

/// <summary>
/// Gives the HttpClientHandler that WCF's HTTP transport builds (System.ServiceModel.Http looks for a
/// <c>Func&lt;HttpClientHandler, HttpMessageHandler&gt;</c> among the binding parameters) the caller's server-certificate
/// check, which the channel's X509 service-certificate settings cannot express (they see no policy errors).
/// </summary>
internal sealed class HttpHandlerBehavior(RemoteCertificateValidationCallback validation) : IEndpointBehavior
{
    public void AddBindingParameters(ServiceEndpoint endpoint, BindingParameterCollection bindingParameters) =>
        bindingParameters.Add(new Func<HttpClientHandler, HttpMessageHandler>(handler =>
        {
            handler.ServerCertificateCustomValidationCallback = (request, certificate, chain, errors) => validation(request, certificate, chain, errors);
            return handler;
        }));

    public void ApplyClientBehavior(ServiceEndpoint endpoint, ClientRuntime clientRuntime)
    {
    }

    public void ApplyDispatchBehavior(ServiceEndpoint endpoint, EndpointDispatcher endpointDispatcher)
    {
    }

    public void Validate(ServiceEndpoint endpoint)
    {
    }
}
