using System.Globalization;
using System.IO.Compression;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>An HTTP/1.1 response read off a raw connection.</summary>
public sealed record RawHttpResponse(int StatusCode, string Reason, IReadOnlyList<(string Name, string Value)> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    public string BodyText => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// HTTP/1.1 over a raw TCP + TLS connection (SslStream, any certificate accepted), for requests that must go out
/// byte for byte as a real client sent them: captured header lines, chunked framing, oversized bodies. Keep-alive:
/// several exchanges may share one connection. Every read is bounded by the caller's token.
/// </summary>
public sealed class RawHttpConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly SslStream _tls;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawHttpConnection(TcpClient tcp, SslStream tls)
    {
        _tcp = tcp;
        _tls = tls;
    }

    public Stream Stream => _tls;

    /// <summary>True once the server closed its side (a later exchange needs a new connection).</summary>
    public bool Closed { get; private set; }

    public static async Task<RawHttpConnection> OpenAsync(Uri baseUri, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(baseUri.Host, baseUri.Port, cancellationToken);
            var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = "localhost",
                    EnabledSslProtocols = SslProtocols.None, // the OS default (TLS 1.2/1.3)
                    ApplicationProtocols = [SslApplicationProtocol.Http11],
                },
                cancellationToken);
            return new RawHttpConnection(tcp, tls);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Writes the request line and header lines (CRLF-terminated, as on the wire), then the body: as it is,
    /// or, with <paramref name="chunkSize"/> set, in valid chunked framing with that chunk size.</summary>
    public async Task SendAsync(string requestLine, IEnumerable<(string Name, string Value)> headers, byte[] body, int? chunkSize, CancellationToken cancellationToken)
    {
        var head = new StringBuilder();
        head.Append(requestLine).Append("\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        head.Append("\r\n");
        await _tls.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), cancellationToken);
        if (chunkSize is { } size)
        {
            for (var offset = 0; offset < body.Length; offset += size)
            {
                var length = Math.Min(size, body.Length - offset);
                await _tls.WriteAsync(Encoding.ASCII.GetBytes(length.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), cancellationToken);
                await _tls.WriteAsync(body.AsMemory(offset, length), cancellationToken);
                await _tls.WriteAsync("\r\n"u8.ToArray(), cancellationToken);
            }

            await _tls.WriteAsync("0\r\n\r\n"u8.ToArray(), cancellationToken);
        }
        else if (body.Length > 0)
        {
            await _tls.WriteAsync(body, cancellationToken);
        }

        await _tls.FlushAsync(cancellationToken);
    }

    /// <summary>Reads one response: status line, headers, and a body framed by Content-Length, chunked encoding or
    /// the end of the connection; a gzip/deflate body is decoded.</summary>
    public async Task<RawHttpResponse> ReadResponseAsync(CancellationToken cancellationToken, bool headRequest = false)
    {
        var statusLine = await ReadLineAsync(cancellationToken)
            ?? throw new IOException("The server closed the connection without a response.");
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            throw new IOException($"Not an HTTP/1.x status line: {statusLine}");
        }

        var status = int.Parse(parts[1], CultureInfo.InvariantCulture);
        var headers = new List<(string, string)>();
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken) ?? throw new IOException("The connection ended inside the response headers.");
            if (line.Length == 0)
            {
                break;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers.Add((line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }

        var response = new RawHttpResponse(status, parts.Length > 2 ? parts[2] : "", headers, []);
        byte[] body;
        if (headRequest || status is 204 or 304 || status < 200)
        {
            body = [];
        }
        else if (response.Header("Transfer-Encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = await ReadChunkedAsync(cancellationToken);
        }
        else if (response.Header("Content-Length") is { } cl)
        {
            body = await ReadExactAsync(int.Parse(cl, CultureInfo.InvariantCulture), cancellationToken);
        }
        else
        {
            body = await ReadToEndAsync(cancellationToken);
        }

        if (response.Header("Connection") is { } connection && connection.Contains("close", StringComparison.OrdinalIgnoreCase))
        {
            Closed = true;
        }

        body = response.Header("Content-Encoding")?.ToLowerInvariant() switch
        {
            "gzip" => Decompress(new GZipStream(new MemoryStream(body), CompressionMode.Decompress)),
            "deflate" => Decompress(new ZLibStream(new MemoryStream(body), CompressionMode.Decompress)),
            _ => body,
        };
        return response with { Body = body };
    }

    public async ValueTask DisposeAsync()
    {
        await _tls.DisposeAsync();
        _tcp.Dispose();
    }

    private static byte[] Decompress(Stream stream)
    {
        using (stream)
        {
            using var output = new MemoryStream();
            stream.CopyTo(output);
            return output.ToArray();
        }
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0 && _start == _end)
        {
            _start = _end = 0;
        }

        if (_end == _buffer.Length)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        var read = await _tls.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        if (read == 0)
        {
            Closed = true;
            return false;
        }

        _end += read;
        return true;
    }

    private async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = new List<byte>();
        while (true)
        {
            if (_start == _end && !await FillAsync(cancellationToken))
            {
                return line.Count == 0 ? null : Encoding.Latin1.GetString(line.ToArray());
            }

            var b = _buffer[_start++];
            if (b == (byte)'\n')
            {
                if (line.Count > 0 && line[^1] == (byte)'\r')
                {
                    line.RemoveAt(line.Count - 1);
                }

                return Encoding.Latin1.GetString(line.ToArray());
            }

            line.Add(b);
            if (line.Count > 64 * 1024)
            {
                throw new IOException("An HTTP header line is longer than 64 KiB.");
            }
        }
    }

    private async Task<byte[]> ReadExactAsync(int count, CancellationToken cancellationToken)
    {
        var result = new byte[count];
        var written = 0;
        while (written < count)
        {
            if (_start == _end && !await FillAsync(cancellationToken))
            {
                throw new IOException($"The connection ended after {written} of {count} body bytes.");
            }

            var n = Math.Min(count - written, _end - _start);
            Buffer.BlockCopy(_buffer, _start, result, written, n);
            _start += n;
            written += n;
        }

        return result;
    }

    private async Task<byte[]> ReadChunkedAsync(CancellationToken cancellationToken)
    {
        using var output = new MemoryStream();
        while (true)
        {
            var sizeLine = await ReadLineAsync(cancellationToken) ?? throw new IOException("The connection ended inside a chunked body.");
            var size = int.Parse(sizeLine.Split(';')[0].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                // trailers, then the empty line
                while (!string.IsNullOrEmpty(await ReadLineAsync(cancellationToken)))
                {
                }

                return output.ToArray();
            }

            output.Write(await ReadExactAsync(size, cancellationToken));
            await ReadLineAsync(cancellationToken);
        }
    }

    private async Task<byte[]> ReadToEndAsync(CancellationToken cancellationToken)
    {
        using var output = new MemoryStream();
        while (true)
        {
            if (_start == _end && !await FillAsync(cancellationToken))
            {
                return output.ToArray();
            }

            output.Write(_buffer, _start, _end - _start);
            _start = _end;
        }
    }
}
