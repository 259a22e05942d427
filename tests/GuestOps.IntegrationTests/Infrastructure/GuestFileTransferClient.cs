using System.Net;
using System.Security.Cryptography;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>What a PUT or GET of a transfer URL answered.</summary>
public sealed record TransferResponse(HttpStatusCode Status, string Text, long Bytes, string? Sha256, long? ContentLength)
{
    public override string ToString() => $"{(int)Status} {Status}: {Bytes} bytes{(Text.Length > 0 ? ", " + Text.Trim() : "")}";
}

/// <summary>
/// The HTTP side of file transfers as clients do it: a fresh HttpClient without the SOAP session cookie
/// (like the pyVmomi samples), the URL's <c>*</c> host replaced by the host the client called, certificate validation
/// off. Bodies are generated and hashed on the fly, so a 1 GiB transfer never sits in memory here either.
/// </summary>
public sealed class GuestFileTransferClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _server;

    public GuestFileTransferClient(ServerProcess server, TimeSpan? timeout = null)
    {
        _server = server.BaseUri;
        var handler = new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(5) };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = timeout ?? TimeSpan.FromMinutes(5) };
    }

    /// <summary>The URL with <c>*</c> replaced by the server's host (what pyVmomi's sample and govmomi do).</summary>
    public Uri Resolve(string url)
    {
        StringAssert.StartsWith(url, "https://*:", $"transfer URLs name the port explicitly: {url}");
        return new Uri(string.Concat("https://", _server.Host, url.AsSpan("https://*".Length)));
    }

    public async Task<TransferResponse> PutAsync(string url, HttpContent content, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, Resolve(url)) { Content = content };
        using var response = await _http.SendAsync(request, cancellationToken);
        return new TransferResponse(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken), 0, null, response.Content.Headers.ContentLength);
    }

    public Task<TransferResponse> PutAsync(string url, byte[] body, CancellationToken cancellationToken = default) =>
        PutAsync(url, new ByteArrayContent(body), cancellationToken);

    /// <summary>GET, hashing the body as it streams in.</summary>
    public async Task<TransferResponse> GetAsync(string url, CancellationToken cancellationToken = default, HttpMethod? method = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, Resolve(url));
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return new TransferResponse(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken), 0, null, response.Content.Headers.ContentLength);
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var (bytes, sha) = await GeneratedContent.HashAsync(body, cancellationToken);
        return new TransferResponse(response.StatusCode, "", bytes, sha, response.Content.Headers.ContentLength);
    }

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, CancellationToken cancellationToken = default) =>
        _http.SendAsync(new HttpRequestMessage(method, Resolve(url)), cancellationToken);

    public void Dispose() => _http.Dispose();
}

/// <summary>
/// A deterministic body of any size, generated block by block (a random 1 MiB block with the block number stamped
/// into it, so reordered or repeated blocks change the hash), with its SHA-256 computed as it is sent.
/// </summary>
public sealed class GeneratedContent : HttpContent
{
    private const int BlockSize = 1 << 20;
    private readonly long _size;
    private readonly byte[] _block;
    private readonly bool _announceLength;

    public GeneratedContent(long size, int seed, bool announceLength = true)
    {
        _size = size;
        _block = new byte[BlockSize];
        new Random(seed).NextBytes(_block);
        _announceLength = announceLength;
        if (announceLength)
        {
            Headers.ContentLength = size;
        }

        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        Sha256 = Hash(size, _block);
    }

    /// <summary>The SHA-256 of the whole body (hex, lower case).</summary>
    public string Sha256 { get; }

    /// <summary>Stop after this many bytes and fail the request (a client cut off halfway).</summary>
    public long? FailAfter { get; init; }

    public static async Task<(long Bytes, string Sha256)> HashAsync(Stream body, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[BlockSize];
        long total = 0;
        int n;
        while ((n = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            total += n;
        }

        return (total, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        var buffer = new byte[BlockSize];
        long sent = 0;
        for (long index = 0; sent < _size; index++)
        {
            var n = (int)Math.Min(BlockSize, _size - sent);
            Fill(buffer, _block, index);
            if (FailAfter is { } limit && sent + n > limit)
            {
                await stream.WriteAsync(buffer.AsMemory(0, (int)(limit - sent)));
                await stream.FlushAsync();
                throw new IOException($"client cut off after {limit} bytes");
            }

            await stream.WriteAsync(buffer.AsMemory(0, n));
            sent += n;
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _size;
        return _announceLength;
    }

    private static void Fill(byte[] buffer, byte[] block, long index)
    {
        block.CopyTo(buffer, 0);
        BitConverter.TryWriteBytes(buffer.AsSpan(0, 8), index ^ BitConverter.ToInt64(block, 0));
    }

    private static string Hash(long size, byte[] block)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[BlockSize];
        long done = 0;
        for (long index = 0; done < size; index++)
        {
            var n = (int)Math.Min(BlockSize, size - done);
            Fill(buffer, block, index);
            hash.AppendData(buffer, 0, n);
            done += n;
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
