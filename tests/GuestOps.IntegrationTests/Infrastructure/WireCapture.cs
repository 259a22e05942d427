using System.Globalization;
using System.Text;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>A captured HTTP request, exactly as the client sent it (the capture stores chunked bodies decoded).</summary>
public sealed record CapturedRequest(string Method, string Target, string HttpVersion, IReadOnlyList<(string Name, string Value)> Headers, byte[] Body)
{
    public string RequestLine => $"{Method} {Target} {HttpVersion}";

    public string? Header(string name) => Headers.FirstOrDefault(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    public bool IsChunked => Header("Transfer-Encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase);

    public string BodyText => Encoding.UTF8.GetString(Body);
}

/// <summary>A captured response (answered by the govmomi simulator or a test double: shapes only, not authoritative).</summary>
public sealed record CapturedResponse(int StatusCode, IReadOnlyList<(string Name, string Value)> Headers, string Body)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;
}

/// <summary>One line of a client's index.tsv and its .http file.</summary>
/// <param name="Operation">The SOAP operation, or null for a plain HTTP exchange (GET of a document, /guestFile).</param>
/// <param name="Fault">The detail element name of a captured fault (e.g. InvalidGuestLoginFault), or null.</param>
public sealed record CapturedExchange(
    string Client,
    string Sequence,
    string FileName,
    string Method,
    string Path,
    string? Operation,
    int StatusCode,
    string? Fault,
    CapturedRequest Request,
    CapturedResponse Response)
{
    public override string ToString() => $"{Client}/{FileName}";
}

/// <summary>
/// Reads the wire captures of tests/fixtures/wire-captures: per client folder an index.tsv (seq, method, path,
/// soap_op, SOAPAction, status, fault) and one NNN_*.http file per exchange with <c>### REQUEST</c> (request line,
/// header lines, a blank line, the body) and <c>### RESPONSE</c> sections. Lines end in LF in the files; the body is
/// followed by one blank line before <c>### RESPONSE</c>.
/// </summary>
public static class WireCapture
{
    private static readonly byte[] RequestMarker = "### REQUEST\n"u8.ToArray();
    private static readonly byte[] ResponseMarker = "\n\n### RESPONSE\n"u8.ToArray();

    public static IReadOnlyList<CapturedExchange> Load(string client)
    {
        var folder = Path.Combine(RepositoryLayout.WireCapturesDirectory, client);
        var index = Path.Combine(folder, "index.tsv");
        if (!File.Exists(index))
        {
            throw new InvalidOperationException($"No wire captures for {client}: {index} is missing.");
        }

        var files = Directory.GetFiles(folder, "*.http").Select(Path.GetFileName).ToList();
        var exchanges = new List<CapturedExchange>();
        foreach (var line in File.ReadAllLines(index).Skip(1).Where(l => l.Length > 0))
        {
            var columns = line.Split('\t');
            var sequence = columns[0];
            var file = files.Single(f => f!.StartsWith(sequence + "_", StringComparison.Ordinal))!;
            var (request, response) = ParseFile(Path.Combine(folder, file));
            exchanges.Add(new CapturedExchange(
                client,
                sequence,
                file,
                columns[1],
                columns[2],
                columns[3] == "-" ? null : columns[3],
                int.Parse(columns[5], CultureInfo.InvariantCulture),
                columns[6] == "-" ? null : columns[6],
                request,
                response));
        }

        return exchanges;
    }

    public static (CapturedRequest Request, CapturedResponse Response) ParseFile(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (!bytes.AsSpan().StartsWith(RequestMarker))
        {
            throw new InvalidDataException($"{path}: does not start with '### REQUEST'.");
        }

        var split = bytes.AsSpan().IndexOf(ResponseMarker);
        if (split < 0)
        {
            throw new InvalidDataException($"{path}: no '### RESPONSE' section.");
        }

        var requestPart = bytes.AsSpan(RequestMarker.Length, split - RequestMarker.Length);
        var responsePart = bytes.AsSpan(split + ResponseMarker.Length);

        var (requestHead, requestBody) = SplitHead(requestPart, path);
        var requestLines = requestHead.Split('\n');
        var requestLine = requestLines[0].Split(' ');
        var request = new CapturedRequest(requestLine[0], requestLine[1], requestLine[2], ParseHeaders(requestLines.Skip(1)), requestBody);
        if (request.Header("Content-Length") is { } contentLength && int.Parse(contentLength, CultureInfo.InvariantCulture) != requestBody.Length)
        {
            throw new InvalidDataException($"{path}: Content-Length {contentLength} but the captured body has {requestBody.Length} bytes.");
        }

        var (responseHead, responseBody) = SplitHead(responsePart, path);
        var responseLines = responseHead.Split('\n');
        var status = int.Parse(responseLines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var response = new CapturedResponse(status, ParseHeaders(responseLines.Skip(1)), Encoding.UTF8.GetString(responseBody).TrimEnd('\n'));
        return (request, response);
    }

    private static (string Head, byte[] Body) SplitHead(ReadOnlySpan<byte> part, string path)
    {
        var blank = part.IndexOf("\n\n"u8);
        if (blank < 0)
        {
            // a head without body and without the blank line
            return (Encoding.Latin1.GetString(part).TrimEnd('\n'), []);
        }

        return (Encoding.Latin1.GetString(part[..blank]), part[(blank + 2)..].ToArray());
    }

    private static List<(string Name, string Value)> ParseHeaders(IEnumerable<string> lines)
    {
        var headers = new List<(string, string)>();
        foreach (var line in lines)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                // The value exactly as captured (one leading space after the colon is the separator).
                var value = line[(colon + 1)..];
                headers.Add((line[..colon], value.StartsWith(' ') ? value[1..] : value));
            }
        }

        return headers;
    }
}
