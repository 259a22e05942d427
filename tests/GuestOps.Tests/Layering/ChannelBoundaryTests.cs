using System.Text.RegularExpressions;

namespace GuestOps.Tests.Layering;

/// <summary>
/// The SOAP front end (src/GuestOps.Server) reaches the guest through the host agent only: it names no type of the
/// channel's connections, frames, data streams or exceptions (the namespaces GuestOps.Channel,
/// GuestOps.Channel.Connection and GuestOps.Channel.Framing), and imports none of those namespaces. A file transfer's
/// data crosses the host agent as a <c>PipeReader</c> and a <c>Stream</c>. The channel's messages
/// (GuestOps.Channel.Messages) are the host agent's requests and answers, and the hosting code configures transports,
/// so those two namespaces are allowed.
/// </summary>
[TestClass]
public sealed partial class ChannelBoundaryTests
{
    private static readonly string[] Hidden = ["GuestOps.Channel", "GuestOps.Channel.Connection", "GuestOps.Channel.Framing"];

    [TestMethod]
    public void TheFrontEndNamesNoChannelConnectionFrameOrDataStreamType()
    {
        var src = Path.Combine(NamespaceFolderTests.RepositoryRoot(), "src");
        var hiddenTypes = HiddenTypes(Path.Combine(src, "GuestOps.Channel"));
        Assert.IsTrue(hiddenTypes.Contains("ChannelDataWriter") && hiddenTypes.Contains("ChannelDataAbortedException"), "the scan of GuestOps.Channel found: " + string.Join(", ", hiddenTypes));

        var found = new List<string>();
        foreach (var file in SourceFiles(Path.Combine(src, "GuestOps.Server")))
        {
            var text = StripComments(File.ReadAllText(file));
            var name = Path.GetRelativePath(src, file).Replace('\\', '/');
            found.AddRange(UsingDirective().Matches(text).Select(m => m.Groups["ns"].Value).Where(Hidden.Contains).Select(ns => $"{name}: using {ns}"));
            found.AddRange(Identifier().Matches(text).Select(m => m.Value).Where(hiddenTypes.Contains).Distinct().Select(type => $"{name}: {type}"));
        }

        Assert.IsEmpty(found, "GuestOps.Server reaches into the channel:" + Environment.NewLine + string.Join(Environment.NewLine, found));
    }

    [TestMethod]
    public void TheScan_FindsUsingsAndTypeNamesOutsideComments()
    {
        var text = StripComments("using GuestOps.Channel;\n// ChannelCall in a comment\n/// <see cref=\"ChannelDataReader\"/>\nvar w = (ChannelDataWriter)x;\n");
        CollectionAssert.AreEqual(new[] { "GuestOps.Channel" }, UsingDirective().Matches(text).Select(m => m.Groups["ns"].Value).ToArray());
        var names = Identifier().Matches(text).Select(m => m.Value).ToHashSet();
        Assert.Contains("ChannelDataWriter", names);
        Assert.DoesNotContain("ChannelCall", names);
        Assert.DoesNotContain("ChannelDataReader", names);
    }

    /// <summary>The public types declared in the channel's root, Connection and Framing namespaces.</summary>
    private static HashSet<string> HiddenTypes(string channelProject)
    {
        var types = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in SourceFiles(channelProject))
        {
            var text = File.ReadAllText(file);
            var ns = NamespaceDeclaration().Match(text).Groups["name"].Value;
            if (Hidden.Contains(ns))
            {
                types.UnionWith(PublicTypeDeclaration().Matches(text).Select(m => m.Groups["type"].Value));
            }
        }

        return types;
    }

    private static IEnumerable<string> SourceFiles(string project) =>
        Directory.EnumerateFiles(project, "*.cs", SearchOption.AllDirectories)
            .Where(f => Path.GetRelativePath(project, f).Replace('\\', '/').Split('/')[0] is not ("bin" or "obj"));

    private static string StripComments(string text) => Comment().Replace(text, "");

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comment();

    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?(?<ns>[A-Za-z_][A-Za-z0-9_.]*)\s*;", RegexOptions.Multiline)]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"\b[A-Za-z_][A-Za-z0-9_]*\b")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"^namespace\s+(?<name>[A-Za-z_][A-Za-z0-9_.]*)\s*[;{\r\n]", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"\bpublic\s+(?:(?:sealed|static|abstract|readonly|partial)\s+)*(?:class|struct|interface|enum|record(?:\s+(?:class|struct))?)\s+(?<type>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex PublicTypeDeclaration();
}
