using System.Xml;
using GuestOps.Vim;
using Microsoft.Extensions.Logging;

namespace GuestOps.Soap;

/// <summary>Result of one SOAP exchange: the HTTP status to send and, after Login, the session to set as a cookie.</summary>
public readonly record struct SoapResult(int StatusCode, string? IssuedSessionKey);

/// <summary>Result of an in-process invocation: the operation's return value and, after Login, the new session key.</summary>
public sealed record VimInvocation(object? Result, string? IssuedSessionKey);

/// <summary>
/// The vim25 SOAP dispatcher: reads the envelope, finds the operation by the body element's local name, deserializes
/// its parameters with the operation's XmlSerializer, authorizes, resolves <c>_this</c>, invokes the managed object and
/// writes the response or the vim fault (HTTP 500, ServerFaultCode, detail named after the declared fault).
/// </summary>
public sealed partial class SoapDispatcher
{
    private readonly VimOperationCatalog _catalog;
    private readonly ImplementationBinder _binder;
    private readonly VimCallContext _calls;
    private readonly IManagedObjectResolver _resolver;
    private readonly IVimCallAuthorizer _authorizer;
    private readonly IVimCallObserver? _observer;
    private readonly ILogger<SoapDispatcher> _logger;
    private readonly XmlReaderSettings _readerSettings;

    public SoapDispatcher(
        VimOperationCatalog catalog,
        IEnumerable<Type> implementationTypes,
        VimCallContext calls,
        IManagedObjectResolver resolver,
        IVimCallAuthorizer authorizer,
        ILogger<SoapDispatcher> logger,
        long maxRequestCharacters = 16 * 1024 * 1024,
        IVimCallObserver? observer = null)
    {
        _observer = observer;
        _catalog = catalog;
        _binder = new ImplementationBinder(catalog, implementationTypes);
        _calls = calls;
        _resolver = resolver;
        _authorizer = authorizer;
        _logger = logger;
        _readerSettings = SoapEnvelope.ReaderSettings(maxRequestCharacters);
    }

    /// <summary>Dispatches one request held in <paramref name="request"/> (seekable) and writes the envelope to <paramref name="response"/>.</summary>
    public async Task<SoapResult> DispatchAsync(Stream request, SoapRequestInfo info, Stream response, CancellationToken cancellationToken)
    {
        VimOperation? operation = null;
        ManagedObjectReference? @this = null;
        VimCall? call = null;
        try
        {
            object?[] arguments;
            using (var reader = Open(request))
            {
                if (!_catalog.TryGet(reader.LocalName, out operation))
                {
                    var name = reader.LocalName;
                    @this = ReadThisOrNull(reader);
                    throw Fault(new MethodNotFound { receiver = @this ?? new ManagedObjectReference(), method = name }, $"Unknown method: '{name}'");
                }

                arguments = ReadArguments(request, reader, operation);
            }

            @this = (ManagedObjectReference)arguments[0]!;
            call = new VimCall(operation, @this, arguments, info, cancellationToken);
            var result = await AuthorizeAndInvokeAsync(call).ConfigureAwait(false);
            WriteResult(response, operation, result);
            _observer?.Completed(call, null);
            return new SoapResult(200, call.IssuedSessionKey);
        }
        catch (VimFaultException e)
        {
            if (call is not null)
            {
                _observer?.Completed(call, e.Fault);
            }

            LogFault(_logger, operation?.Name ?? "?", e.Fault.GetType().Name, e.Message);
            WriteFault(response, operation, e.Fault, e.Message);
        }
        catch (SoapRequestException e)
        {
            LogInvalidRequest(_logger, operation?.Name ?? "?", e.Message);
            WriteFault(response, operation, new InvalidRequest(), e.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            if (call is not null)
            {
                _observer?.Completed(call, new SystemError { reason = "Internal server error" });
            }

            LogInternalError(_logger, operation?.Name ?? "?", e);
            WriteFault(response, operation, new SystemError { reason = "Internal server error" }, "A general system error occurred: internal error");
        }

        return new SoapResult(500, null);
    }

    /// <summary>
    /// Invokes one operation in process, as a SOAP request carrying these arguments would be: the same authorizer,
    /// managed object and observer (audit), without XML. <paramref name="arguments"/> are in wire order, <c>_this</c>
    /// first. A fault is thrown as <see cref="VimFaultException"/> after the observer has seen it; an unexpected error
    /// becomes SystemError, as on the wire. For front ends other than SOAP (the web client).
    /// </summary>
    public async Task<VimInvocation> InvokeAsync(string operationName, object?[] arguments, SoapRequestInfo info, CancellationToken cancellationToken)
    {
        if (!_catalog.TryGet(operationName, out var operation))
        {
            throw new ArgumentException($"Unknown vim operation '{operationName}'.", nameof(operationName));
        }

        if (arguments.Length != operation.Parameters.Count || arguments[0] is not ManagedObjectReference @this)
        {
            throw new ArgumentException($"{operationName} takes {operation.Parameters.Count} arguments, _this first.", nameof(arguments));
        }

        // As on the wire: a missing required parameter is refused before the call is authorized or observed.
        CheckRequired(operation, arguments);
        var call = new VimCall(operation, @this, arguments, info, cancellationToken);
        try
        {
            var result = await AuthorizeAndInvokeAsync(call).ConfigureAwait(false);
            _observer?.Completed(call, null);
            return new VimInvocation(result, call.IssuedSessionKey);
        }
        catch (VimFaultException e)
        {
            _observer?.Completed(call, e.Fault);
            LogFault(_logger, operation.Name, e.Fault.GetType().Name, e.Message);
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            var fault = new SystemError { reason = "Internal server error" };
            _observer?.Completed(call, fault);
            LogInternalError(_logger, operation.Name, e);
            throw new VimFaultException(fault, "A general system error occurred: internal error");
        }
    }

    /// <summary>Authorizes the call, resolves <c>_this</c> and invokes the managed object's method with the call
    /// current in <see cref="VimCallContext"/>.</summary>
    private async Task<object?> AuthorizeAndInvokeAsync(VimCall call)
    {
        await _authorizer.AuthorizeAsync(call).ConfigureAwait(false);
        var @this = call.This;
        var target = _resolver.Resolve(@this, call)
            ?? throw Fault(new ManagedObjectNotFound { obj = @this }, $"The object '{@this}' has already been deleted or has not been completely created");
        var invoke = _binder.Find(target.GetType(), call.Operation)
            ?? throw Fault(new MethodNotFound { receiver = @this, method = call.Operation.Name }, $"Method {call.Operation.Name} is not supported by {@this.type}");
        // Current until this async method returns: its caller's flow never sees the call, so no scope to dispose.
        _calls.Enter(call);
        return await invoke(target, call).ConfigureAwait(false);
    }

    private XmlReader Open(Stream request)
    {
        try
        {
            return SoapEnvelope.OpenOperation(request, _readerSettings);
        }
        catch (XmlException e)
        {
            throw new SoapRequestException("The request is not well-formed XML: " + e.Message, e);
        }
    }

    private static ManagedObjectReference? ReadThisOrNull(XmlReader reader)
    {
        try
        {
            return SoapEnvelope.ReadThis(reader);
        }
        catch (XmlException)
        {
            return null;
        }
    }

    /// <summary>Deserializes the parameters with the operation's own serializer (falling back to the one that knows
    /// every vim type for an xsi:type outside the operation's usual types), then checks the rest of the envelope.</summary>
    private object?[] ReadArguments(Stream request, XmlReader reader, VimOperation operation)
    {
        if (PropertyFilterSpecReader.Handles(operation))
        {
            object?[]? fast;
            try
            {
                fast = PropertyFilterSpecReader.TryRead(reader, operation);
                if (fast is not null)
                {
                    SoapEnvelope.ReadToEnd(reader);
                }
            }
            catch (XmlException e)
            {
                throw new SoapRequestException($"Cannot read the parameters of {operation.Name}: {e.Message}", e);
            }

            if (fast is not null)
            {
                return CheckRequired(operation, fast);
            }

            // Not a shape the fast path knows: read it again, as every other operation is read.
            request.Position = 0;
            using var again = Open(request);
            return ReadArgumentsWithSerializer(request, again, operation);
        }

        return ReadArgumentsWithSerializer(request, reader, operation);
    }

    private object?[] ReadArgumentsWithSerializer(Stream request, XmlReader reader, VimOperation operation)
    {
        object?[] arguments;
        try
        {
            try
            {
                arguments = (object?[])operation.RequestSerializer.Deserialize(reader)!;
            }
            catch (InvalidOperationException e) when (e.InnerException is not XmlException && operation.FullRequestSerializer is { } full)
            {
                request.Position = 0;
                using var again = SoapEnvelope.OpenOperation(request, _readerSettings);
                arguments = (object?[])full.Deserialize(again)!;
                SoapEnvelope.ReadToEnd(again);
                return CheckRequired(operation, arguments);
            }

            SoapEnvelope.ReadToEnd(reader);
        }
        catch (InvalidOperationException e)
        {
            // XmlSerializer wraps the cause: unknown xsi:type, a value of the wrong form, bad nesting, ...
            var cause = e.InnerException?.Message ?? e.Message;
            throw new SoapRequestException($"Cannot read the parameters of {operation.Name}: {cause}", e);
        }
        catch (XmlException e)
        {
            throw new SoapRequestException($"Cannot read the parameters of {operation.Name}: {e.Message}", e);
        }

        return CheckRequired(operation, arguments);
    }

    private static object?[] CheckRequired(VimOperation operation, object?[] arguments)
    {
        for (var i = 0; i < arguments.Length; i++)
        {
            if (operation.RequiredParameters[i] && arguments[i] is null or Array { Length: 0 })
            {
                throw i == 0
                    ? new SoapRequestException($"{operation.Name}: the required parameter _this is missing.")
                    : Fault(new InvalidArgument { invalidProperty = operation.Parameters[i].Name }, $"A specified parameter was not correct: {operation.Parameters[i].Name}");
            }
        }

        return arguments;
    }

    private static void WriteResult(Stream response, VimOperation operation, object? result)
    {
        using var writer = SoapEnvelope.StartEnvelope(response);
        operation.ResponseSerializer.Serialize(writer, operation.ResultType is null ? Array.Empty<object?>() : new[] { result });
        SoapEnvelope.EndEnvelope(writer);
    }

    private void WriteFault(Stream response, VimOperation? operation, MethodFault fault, string message)
    {
        try
        {
            WriteFaultCore(response, operation, fault, message);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // A field of the fault holds text XML cannot carry: the same fault type without its fields.
            var bare = Activator.CreateInstance(fault.GetType()) as MethodFault ?? new SystemError { reason = "Internal server error" };
            WriteFaultCore(response, operation, bare, message);
        }
    }

    private void WriteFaultCore(Stream response, VimOperation? operation, MethodFault fault, string message)
    {
        response.SetLength(0);
        var detailName = operation?.DetailElementName(fault.GetType())
            ?? (fault is RuntimeFault ? "RuntimeFaultFault" : fault.GetType().Name + "Fault");
        using var writer = SoapEnvelope.StartEnvelope(response);
        writer.WriteStartElement("soapenv", "Fault", VimNamespaces.SoapEnvelope);
        writer.WriteElementString("faultcode", "ServerFaultCode");
        writer.WriteElementString("faultstring", XmlText(message));
        writer.WriteStartElement("detail");
        _catalog.FaultSerializer(detailName).Serialize(writer, new object[] { fault });
        writer.WriteEndElement();
        writer.WriteEndElement();
        SoapEnvelope.EndEnvelope(writer);
    }

    private static VimFaultException Fault(MethodFault fault, string message) => new(fault, message);

    /// <summary>The text with every character XML 1.0 cannot carry replaced by U+FFFD. Fault messages quote the
    /// request (an XmlException names the invalid character it met); written as they are, the XmlWriter would throw
    /// and the client would get no fault at all.</summary>
    internal static string XmlText(string text)
    {
        var i = 0;
        while (i < text.Length && (XmlConvert.IsXmlChar(text[i]) || i + 1 < text.Length && XmlConvert.IsXmlSurrogatePair(text[i + 1], text[i])))
        {
            i += char.IsHighSurrogate(text[i]) ? 2 : 1;
        }

        if (i >= text.Length)
        {
            return text;
        }

        var clean = new System.Text.StringBuilder(text.Length);
        clean.Append(text, 0, i);
        while (i < text.Length)
        {
            if (XmlConvert.IsXmlChar(text[i]))
            {
                clean.Append(text[i]);
                i++;
            }
            else if (i + 1 < text.Length && XmlConvert.IsXmlSurrogatePair(text[i + 1], text[i]))
            {
                clean.Append(text, i, 2);
                i += 2;
            }
            else
            {
                clean.Append('\uFFFD');
                i++;
            }
        }

        return clean.ToString();
    }
}
