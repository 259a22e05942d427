using System.Net;
using System.Net.Http.Headers;

namespace GuestOps.Cli.Transfers;

/// <summary>
/// The HTTP side of file transfers (reference 7): PUT or GET of the one-time /guestFile URL, without the session
/// cookie. A URL whose host is <c>*</c> gets the host and port this CLI called, as govmomi does
/// (<c>https://*:443/guestFile?...</c> keeps working through port forwarding).
/// </summary>
public sealed class GuestFileTransfer(HttpMessageHandler handler, Uri endpoint, TransferProgress progress) : IDisposable
{
    private const int BufferSize = 256 * 1024;

    private readonly HttpClient _http = new(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };

    public TransferProgress Progress { get; } = progress;

    /// <summary>The URL with a <c>*</c> host replaced by the endpoint's host and port.</summary>
    public Uri Resolve(string url)
    {
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0 && url.AsSpan(scheme + 3).StartsWith("*"))
        {
            var rest = url[(scheme + 4)..];
            if (rest.StartsWith(':'))
            {
                var end = rest.IndexOfAny(['/', '?']);
                rest = end < 0 ? "" : rest[end..];
            }

            return new Uri($"{url[..scheme]}://{endpoint.Authority}{rest}");
        }

        return new Uri(url);
    }

    /// <summary>PUTs <paramref name="length"/> bytes of <paramref name="source"/>; 200 or 201 is success.</summary>
    public async Task UploadAsync(string url, Stream source, long length, string description, CancellationToken cancellationToken)
    {
        await Progress.TrackAsync(description, length, async report =>
        {
            using var content = new StreamContent(new ProgressReadStream(source, report), BufferSize);
            content.Headers.ContentLength = length;
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var request = new HttpRequestMessage(HttpMethod.Put, Resolve(url)) { Content = content };
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.Created))
            {
                throw await FailureAsync("upload", response, cancellationToken);
            }

            return true;
        });
    }

    /// <summary>GETs the file into <paramref name="destination"/>, leaving out its first <paramref name="skip"/> bytes;
    /// returns the bytes received (skipped ones included).</summary>
    public Task<long> DownloadAsync(string url, Stream destination, long expected, string description, CancellationToken cancellationToken, long skip = 0) =>
        Progress.TrackAsync(description, expected, async report =>
        {
            using var response = await _http.GetAsync(Resolve(url), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw await FailureAsync("download", response, cancellationToken);
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[BufferSize];
            long received = 0;
            int n;
            while ((n = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                var start = (int)Math.Clamp(skip - received, 0, n);
                if (start < n)
                {
                    await destination.WriteAsync(buffer.AsMemory(start, n - start), cancellationToken);
                }

                received += n;
                report(received);
            }

            if (response.Content.Headers.ContentLength is { } announced && announced != received)
            {
                throw new CliException($"download: the connection ended after {received} of {announced} bytes.");
            }

            return received;
        });

    private static async Task<CliException> FailureAsync(string what, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = (await response.Content.ReadAsStringAsync(cancellationToken)).ReplaceLineEndings(" ").Trim();
        return new CliException($"{what}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}{(text.Length > 0 ? ": " + (text.Length > 200 ? text[..200] : text) : "")}");
    }

    public void Dispose() => _http.Dispose();

    /// <summary>A read-only view of a stream that reports how many bytes were read.</summary>
    private sealed class ProgressReadStream(Stream inner, Action<long> report) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int n)
        {
            _read += n;
            report(_read);
            return n;
        }
    }
}
