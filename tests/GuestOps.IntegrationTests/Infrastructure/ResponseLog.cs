using System.Collections.Concurrent;
using System.Text;
using GuestOps.IntegrationTests.Schema;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>One body the server sent to a test.</summary>
/// <param name="ExpectSoap">True for answers of the SOAP endpoint (POST /sdk with 200 or 500): they must be SOAP envelopes.</param>
public sealed record RecordedResponse(string Description, int StatusCode, string? ContentType, string Body, bool ExpectSoap);

/// <summary>
/// Every response body a test received. At the end of the test (<see cref="IntegrationTest"/>'s TestCleanup) each SOAP
/// envelope is validated with <see cref="VimSchemas.AssertValid"/> (our WSDL and, when here, VMware's 5.x schema), so no answer the
/// suite sees escapes the schema check.
/// </summary>
public sealed class ResponseLog
{
    private readonly ConcurrentQueue<RecordedResponse> _responses = new();

    public IReadOnlyCollection<RecordedResponse> All => _responses;

    public void Add(RecordedResponse response) => _responses.Enqueue(response);

    public void Add(SoapResponse response, bool expectSoap) =>
        Add(new RecordedResponse(response.Description, response.StatusCode, response.ContentType, response.Body, expectSoap));

    public static bool LooksLikeSoapEnvelope(string body) =>
        body.Contains(Soap.EnvelopeNamespace, StringComparison.Ordinal) && body.Contains("Envelope", StringComparison.Ordinal);

    /// <summary>Validates every recorded SOAP envelope; throws one AssertFailedException listing every problem.</summary>
    public int AssertAllValid()
    {
        var problems = new StringBuilder();
        var validated = 0;
        foreach (var response in _responses)
        {
            if (!LooksLikeSoapEnvelope(response.Body))
            {
                if (response.ExpectSoap)
                {
                    problems.AppendLine($"- {response.Description}: HTTP {response.StatusCode} from the SOAP endpoint is not a SOAP envelope: {SoapResponse.Shorten(response.Body, 500)}");
                }

                continue;
            }

            validated++;
            try
            {
                VimSchemas.Shared.AssertValid(response.Body);
            }
            catch (SchemaValidationException e)
            {
                problems.AppendLine($"- {response.Description} (HTTP {response.StatusCode}): {e.Message}");
                problems.AppendLine($"  body: {SoapResponse.Shorten(response.Body, 1500)}");
            }
        }

        if (problems.Length > 0)
        {
            throw new AssertFailedException($"Schema validation of the responses this test received failed:{Environment.NewLine}{problems}");
        }

        return validated;
    }
}
