using System.Text.RegularExpressions;

namespace GuestOps.Tests.Layering;

/// <summary>
/// A folder's namespace is its path: every namespace a source file of <c>src/</c> declares is its project's root
/// namespace (the project folder's name) followed by the file's folders.
/// </summary>
[TestClass]
public sealed partial class NamespaceFolderTests
{
    [TestMethod]
    public void EverySourceFileDeclaresTheNamespaceOfItsFolder()
    {
        var src = Path.Combine(RepositoryRoot(), "src");
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(src, Path.GetDirectoryName(file)!).Replace('\\', '/');
            var segments = relative.Split('/');
            if (segments.Length > 1 && segments[1] is "bin" or "obj")
            {
                continue;
            }

            var expected = string.Join('.', segments);
            foreach (Match declared in NamespaceDeclaration().Matches(File.ReadAllText(file)))
            {
                var name = declared.Groups["name"].Value;
                if (name != expected)
                {
                    found.Add($"{relative}: {name}");
                }
            }
        }

        foreach (var mismatch in found)
        {
            Console.WriteLine(mismatch);
        }

        Assert.IsEmpty(found, "namespaces that are not their folder's path (src-relative folder: declared namespace):" + Environment.NewLine + string.Join(Environment.NewLine, found));
    }

    [TestMethod]
    public void TheScan_ReadsFileScopedAndBlockNamespaces()
    {
        var names = NamespaceDeclaration().Matches("namespace A.B;\n\nnamespace C\n{\n}\n// namespace D;\n").Select(m => m.Groups["name"].Value);
        CollectionAssert.AreEqual(new[] { "A.B", "C" }, names.ToArray());
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "GuestOps.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new AssertFailedException("GuestOps.sln not found above the test binaries.");
    }

    /// <summary>A namespace declaration at the start of a line (file-scoped or block).</summary>
    [GeneratedRegex(@"^namespace\s+(?<name>[A-Za-z_][A-Za-z0-9_.]*)\s*[;{\r\n]", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();
}
