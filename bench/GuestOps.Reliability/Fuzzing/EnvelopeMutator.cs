using System.Text;

namespace GuestOps.Reliability.Fuzzing;

/// <summary>
/// A seeded mutator of SOAP requests: byte flips and interesting bytes, deletions, duplications, crossover between
/// seeds, dictionary tokens (XML and vim25 syntax that reaches deeper code: DTDs, entities, CDATA, xsi:types,
/// numbers at the edges, invalid UTF-8, other morefs) and text-node replacement. The same seed gives the same inputs.
/// </summary>
internal sealed class EnvelopeMutator(IReadOnlyList<byte[]> seeds, int seed)
{
    private static readonly string[] Tokens =
    [
        "<!DOCTYPE a [<!ENTITY x \"y\">]>", "&x;", "&amp;", "&#0;", "&#xD800;", "&#x10FFFF;", "<![CDATA[", "]]>", "<?pi x?>", "<!-- -->",
        "xsi:type=\"ObjectSpec\"", "xsi:type=\"xsd:int\"", "xsi:type=\"TraversalSpec\"", "xsi:type=\"ArrayOfString\"", "xsi:type=\"NoSuchType\"",
        "xsi:nil=\"true\"", "xmlns=\"\"", "xmlns=\"urn:vim25\"", "xmlns:xsi=\"urn:other\"", "type=\"VirtualMachine\"", "type=\"\"",
        "<_this type=\"VirtualMachine\">vm-1</_this>", "<_this type=\"SessionManager\">SessionManager</_this>", "<vm type=\"VirtualMachine\">vm-2</vm>",
        "<pathSet>guest</pathSet>", "<pathSet>config.extraConfig[\"x\"]</pathSet>", "<selectSet xsi:type=\"TraversalSpec\"><type>Folder</type><path>childEntity</path></selectSet>",
        "<maxObjects>0</maxObjects>", "<index>-1</index>", "<maxResults>2147483647</maxResults>",
        "-1", "0", "9223372036854775807", "-9223372036854775808", "99999999999999999999", "1e400", "NaN", "INF", "true", "1", "",
        "2026-13-45T25:61:61Z", "0001-01-01T00:00:00Z", "../../../../etc/passwd", "/", "\u0000", "\u202e", "\uFFFF",
        "<soapenv:Header><x/></soapenv:Header>", "</soapenv:Body>", "<soapenv:Body>", "<a><a><a><a><a><a><a><a>",
    ];

    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xED, 0xF4, 0xFE, 0xFF, (byte)'<', (byte)'>', (byte)'&', (byte)'"', (byte)'/', (byte)'=', (byte)':'];
    private readonly Random _random = new(seed);

    public byte[] Next()
    {
        var data = new List<byte>(seeds[_random.Next(seeds.Count)]);
        var count = 1 + (int)Math.Floor(Math.Pow(_random.NextDouble(), 2) * 8);
        for (var i = 0; i < count; i++)
        {
            Mutate(data);
        }

        return [.. data];
    }

    private void Mutate(List<byte> data)
    {
        var at = data.Count == 0 ? 0 : _random.Next(data.Count);
        switch (_random.Next(9))
        {
            case 0 when data.Count > 0:
                data[at] ^= (byte)(1 << _random.Next(8));
                break;
            case 1 when data.Count > 0:
                data[at] = InterestingBytes[_random.Next(InterestingBytes.Length)];
                break;
            case 2 when data.Count > 0:
                data.RemoveRange(at, Math.Min(data.Count - at, 1 + _random.Next(64)));
                break;
            case 3 when data.Count > 0:
            {
                var length = Math.Min(data.Count - at, 1 + _random.Next(256));
                var copy = data.GetRange(at, length);
                var times = 1 + _random.Next(_random.Next(10) == 0 ? 200 : 4);
                for (var t = 0; t < times && data.Count < 4 << 20; t++)
                {
                    data.InsertRange(Math.Min(data.Count, at + length), copy);
                }

                break;
            }

            case 4:
            {
                // Crossover: a prefix of this input and a suffix of another seed.
                var other = seeds[_random.Next(seeds.Count)];
                var cut = other.Length == 0 ? 0 : _random.Next(other.Length);
                data.RemoveRange(at, data.Count - at);
                data.AddRange(other.AsSpan(cut).ToArray());
                break;
            }

            case 5:
            case 6:
                data.InsertRange(at, Encoding.UTF8.GetBytes(Tokens[_random.Next(Tokens.Length)]));
                break;
            case 7:
            {
                // Replace the text of an element (between '>' and the next '<').
                var start = data.IndexOf((byte)'>', at);
                var end = start < 0 ? -1 : data.IndexOf((byte)'<', start + 1);
                if (end > start + 1)
                {
                    data.RemoveRange(start + 1, end - start - 1);
                    data.InsertRange(start + 1, Encoding.UTF8.GetBytes(Tokens[_random.Next(Tokens.Length)]));
                }

                break;
            }

            default:
            {
                // Drop a whole element: from a '<' that opens one to the matching '>' of the next closing tag.
                var open = data.IndexOf((byte)'<', at);
                var close = open < 0 ? -1 : data.IndexOf((byte)'/', open + 1);
                var gt = close < 0 ? -1 : data.IndexOf((byte)'>', close);
                if (gt > open && open >= 0)
                {
                    data.RemoveRange(open, gt - open + 1);
                }

                break;
            }
        }
    }
}
