using System.Diagnostics;
using System.Globalization;
using GuestOps.Client;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Issue 4's property-style test: a seeded random sequence of MakeDirectoryInGuest, MoveFileInGuest (a staged empty
/// file moved into the tree, or a file of the tree moved), DeleteFileInGuest, DeleteDirectoryInGuest,
/// MoveDirectoryInGuest and ListFilesInGuest on a sandboxed VM through the typed client (GuestOps.Client), under a
/// fresh temporary directory, mirrored on a plain in-memory file tree. After every step the VM and the model agree: same
/// names and types in every directory, and when the model says an operation must fail, the VM answers that fault type
/// and changes nothing.
/// The seed is printed; GUESTOPS_MODEL_SEED=&lt;n&gt; replays a run. Bounded: 150 steps or 20 s.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GuestFileTreeModelTests : IntegrationTest
{
    private const int Steps = 150;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(20);
    private static readonly string[] Pool = ["a", "b", "c"];

    private static GuestServer? _server;

    [ClassInitialize]
    public static async Task StartServerAsync(TestContext context) => _server = await GuestServer.StartAsync(vmNames: ["demo-vm-1"]);

    [ClassCleanup]
    public static async Task StopServerAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    /// <summary>The model: relative path ("a/b") to is-directory; the root "" is an implicit directory.</summary>
    private sealed class Tree
    {
        public SortedDictionary<string, bool> Entries { get; } = new(StringComparer.Ordinal);

        public bool? Kind(string path) => path.Length == 0 ? true : Entries.TryGetValue(path, out var dir) ? dir : null;

        public static string Parent(string path) => path.Contains('/') ? path[..path.LastIndexOf('/')] : "";

        public static IEnumerable<string> Ancestors(string path)
        {
            for (var p = Parent(path); p.Length > 0; p = Parent(p))
            {
                yield return p;
            }
        }

        public bool AncestorIsFile(string path) => Ancestors(path).Any(a => Kind(a) == false);

        public IEnumerable<string> Children(string dir) =>
            Entries.Keys.Where(k => Parent(k) == dir);

        public IEnumerable<string> Subtree(string path) =>
            Entries.Keys.Where(k => k == path || k.StartsWith(path + "/", StringComparison.Ordinal)).ToList();

        public void Remove(string path)
        {
            foreach (var k in Subtree(path))
            {
                Entries.Remove(k);
            }
        }

        public void Move(string from, string to)
        {
            var moved = Subtree(from).Select(k => (k, Entries[k])).ToList();
            Remove(from);
            foreach (var (k, dir) in moved)
            {
                Entries[to + k[from.Length..]] = dir;
            }
        }

        public IEnumerable<string> Directories => new[] { "" }.Concat(Entries.Where(e => e.Value).Select(e => e.Key));
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task RandomMakeMoveDeleteListSequences_TheVmAndAPlainFileTreeModelNeverDisagree()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("GUESTOPS_MODEL_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var fixedSeed)
            ? fixedSeed
            : Random.Shared.Next();
        TestContext.WriteLine($"seed {seed} (replay with GUESTOPS_MODEL_SEED={seed})");
        Console.WriteLine($"GuestFileTreeModelTests seed {seed}");
        var random = new Random(seed);

        var server = _server ?? throw new AssertFailedException("The guest server did not start.");
        await using var client = await TypedGuestClient.ConnectAsync(server.Server);
        var (port, files, vm) = (client.Port, client.Managers.FileManager, client.Vm);
        var demo = TypedGuestClient.Auth("demo", GuestServer.GuestPassword);
        async Task<List<GuestFileInfo>> ListAsync(string path) => [.. (await port.ListFilesInGuestAsync(files, vm, demo, path, null, null, null)).files ?? []];
        async Task<Dictionary<string, string>> ChildrenAsync(string directory) =>
            (await ListAsync(directory)).Where(f => f.path is not "." and not "..").ToDictionary(f => f.path, f => f.type);

        var top = await port.CreateTemporaryDirectoryInGuestAsync(files, vm, demo, "model-", "", null);
        var root = $"{top}/tree";
        var stage = $"{top}/stage";
        await port.MakeDirectoryInGuestAsync(files, vm, demo, root, false);
        await port.MakeDirectoryInGuestAsync(files, vm, demo, stage, false);

        var model = new Tree();
        var history = new List<string>();
        string Guest(string relative) => relative.Length == 0 ? root : $"{root}/{relative}";
        string Context() => $"seed {seed} (GUESTOPS_MODEL_SEED={seed}), step {history.Count}; last steps:{Environment.NewLine}  "
            + string.Join(Environment.NewLine + "  ", history.TakeLast(12));

        string RandomPath()
        {
            if (model.Entries.Count > 0 && random.Next(3) > 0)
            {
                var existing = model.Entries.Keys.ElementAt(random.Next(model.Entries.Count));
                return random.Next(3) == 0 && existing.Count(c => c == '/') < 3 ? $"{existing}/{Pool[random.Next(Pool.Length)]}" : existing;
            }

            var depth = 1 + random.Next(3);
            return string.Join("/", Enumerable.Range(0, depth).Select(_ => Pool[random.Next(Pool.Length)]));
        }

        // Runs the step's call: it must succeed when the model says so (fault null), else fail with that fault type.
        async Task Expect(Func<Task> call, string? fault)
        {
            string? actual = null;
            try
            {
                await VimFaults.Translate(call);
            }
            catch (VimFaultException e)
            {
                actual = e.Fault.GetType().Name;
                if (fault is null || actual != fault)
                {
                    throw new AssertFailedException($"The model says {history[^1]} {(fault is null ? "succeeds" : $"fails with {fault}")}; the VM answered {actual}: {e.Message}{Environment.NewLine}{Context()}");
                }
            }

            if (fault is not null && actual is null)
            {
                throw new AssertFailedException($"The model says {history[^1]} fails with {fault}; the VM did it.{Environment.NewLine}{Context()}");
            }
        }

        async Task CompareAsync()
        {
            foreach (var dir in model.Directories.ToList())
            {
                var listed = await ChildrenAsync(Guest(dir));
                var expected = model.Children(dir).ToDictionary(c => c[(c.LastIndexOf('/') + 1)..], c => model.Entries[c] ? "directory" : "file");
                var same = listed.Count == expected.Count && expected.All(e => listed.TryGetValue(e.Key, out var t) && t == e.Value);
                if (!same)
                {
                    throw new AssertFailedException($"'{Guest(dir)}': the VM lists [{string.Join(", ", listed.OrderBy(e => e.Key).Select(e => $"{e.Key}:{e.Value}"))}], the model [{string.Join(", ", expected.OrderBy(e => e.Key).Select(e => $"{e.Key}:{e.Value}"))}].{Environment.NewLine}{Context()}");
                }
            }
        }

        var clock = Stopwatch.StartNew();
        var faults = new Dictionary<string, int>();
        var step = 0;
        for (; step < Steps && clock.Elapsed < Budget; step++)
        {
            string? fault;
            var roll = random.Next(100);
            if (roll < 20)
            {
                var p = RandomPath();
                var parents = random.Next(2) == 0;
                history.Add($"MakeDirectory {p} parents={parents}");
                if (!parents)
                {
                    fault = model.Kind(Tree.Parent(p)) != true ? "FileNotFound" : model.Kind(p) is not null ? "FileAlreadyExists" : null;
                }
                else
                {
                    fault = model.AncestorIsFile(p) ? "NotADirectory" : model.Kind(p) == false ? "FileAlreadyExists" : null;
                }

                await Expect(() => port.MakeDirectoryInGuestAsync(files, vm, demo, Guest(p), parents), fault);
                if (fault is null)
                {
                    foreach (var a in Tree.Ancestors(p).Append(p))
                    {
                        model.Entries[a] = true;
                    }
                }
            }
            else if (roll < 40)
            {
                var p = RandomPath();
                var overwrite = random.Next(2) == 0;
                history.Add($"MoveFile (new staged file) -> {p} overwrite={overwrite}");
                var staged = await port.CreateTemporaryFileInGuestAsync(files, vm, demo, "s-", "", stage);
                fault = FileDestinationFault(model, p, overwrite);
                await Expect(() => port.MoveFileInGuestAsync(files, vm, demo, staged, Guest(p), overwrite), fault);
                if (fault is null)
                {
                    model.Entries[p] = false;
                }
                else
                {
                    await port.DeleteFileInGuestAsync(files, vm, demo, staged);
                }
            }
            else if (roll < 52)
            {
                var p = RandomPath();
                history.Add($"DeleteFile {p}");
                fault = model.Kind(p) switch { null => "FileNotFound", true => "NotAFile", false => null };
                await Expect(() => port.DeleteFileInGuestAsync(files, vm, demo, Guest(p)), fault);
                if (fault is null)
                {
                    model.Remove(p);
                }
            }
            else if (roll < 62)
            {
                var p = RandomPath();
                var recursive = random.Next(2) == 0;
                history.Add($"DeleteDirectory {p} recursive={recursive}");
                fault = model.Kind(p) switch
                {
                    null => "FileNotFound",
                    false => "NotADirectory",
                    true when !recursive && model.Children(p).Any() => "DirectoryNotEmpty",
                    _ => null,
                };
                await Expect(() => port.DeleteDirectoryInGuestAsync(files, vm, demo, Guest(p), recursive), fault);
                if (fault is null)
                {
                    model.Remove(p);
                }
            }
            else if (roll < 75)
            {
                var p = RandomPath();
                var q = RandomPath();
                if (p == q)
                {
                    continue;
                }

                var overwrite = random.Next(2) == 0;
                history.Add($"MoveFile {p} -> {q} overwrite={overwrite}");
                fault = model.Kind(p) switch { null => "FileNotFound", true => "NotAFile", false => FileDestinationFault(model, q, overwrite) };
                await Expect(() => port.MoveFileInGuestAsync(files, vm, demo, Guest(p), Guest(q), overwrite), fault);
                if (fault is null)
                {
                    model.Move(p, q);
                }
            }
            else if (roll < 87)
            {
                var p = RandomPath();
                var q = RandomPath();
                history.Add($"MoveDirectory {p} -> {q}");
                fault = model.Kind(p) switch
                {
                    null => "FileNotFound",
                    false => "NotADirectory",
                    _ when model.AncestorIsFile(q) => "FileNotFound",
                    _ when model.Kind(q) is not null => "FileAlreadyExists",
                    _ when model.Kind(Tree.Parent(q)) is null => "FileNotFound",
                    _ when q.StartsWith(p + "/", StringComparison.Ordinal) => "InvalidArgument",
                    _ => null,
                };
                await Expect(() => port.MoveDirectoryInGuestAsync(files, vm, demo, Guest(p), Guest(q)), fault);
                if (fault is null)
                {
                    model.Move(p, q);
                }
            }
            else
            {
                var p = random.Next(4) == 0 ? "" : RandomPath();
                history.Add($"ListFiles {(p.Length == 0 ? "(root)" : p)}");
                fault = model.Kind(p) is null ? "FileNotFound" : null;
                if (fault is not null)
                {
                    await Expect(() => ListAsync(Guest(p)), fault);
                }
                else if (model.Kind(p) == false)
                {
                    var listing = await ListAsync(Guest(p));
                    Assert.IsTrue(listing.Count == 1 && listing[0].type == "file", $"ListFilesInGuest of the file {p}: {string.Join(", ", listing.Select(f => $"{f.path}:{f.type}"))}{Environment.NewLine}{Context()}");
                }
                else
                {
                    var names = (await ListAsync(Guest(p))).Select(f => f.path).Where(n => n is not "." and not "..").Order(StringComparer.Ordinal).ToList();
                    var expected = model.Children(p).Select(c => c[(c.LastIndexOf('/') + 1)..]).Order(StringComparer.Ordinal).ToList();
                    CollectionAssert.AreEqual(expected, names, $"ListFilesInGuest {p}{Environment.NewLine}{Context()}");
                }
            }

            if (fault is not null)
            {
                faults[fault] = faults.GetValueOrDefault(fault) + 1;
            }

            await CompareAsync();
        }

        // The staging directory holds nothing left over, and the tree can be removed as a whole.
        Assert.AreEqual(0, (await ChildrenAsync(stage)).Count, Context());
        await port.DeleteDirectoryInGuestAsync(files, vm, demo, top, true);
        var summary = $"seed {seed}: {step} steps in {clock.Elapsed.TotalSeconds:0.0} s, {model.Entries.Count} entries at the end, expected faults {string.Join(", ", faults.OrderBy(f => f.Key).Select(f => $"{f.Key}×{f.Value}"))}";
        TestContext.WriteLine(summary);
        Console.WriteLine(summary);
        Assert.IsTrue(step >= 30, $"Only {step} steps within {Budget.TotalSeconds} s: too slow to mean much. {summary}");
    }

    /// <summary>What moving a file to <paramref name="destination"/> must answer, the source being a file.</summary>
    private static string? FileDestinationFault(Tree model, string destination, bool overwrite) =>
        model.AncestorIsFile(destination) ? "FileNotFound"
        : model.Kind(destination) == true ? "FileAlreadyExists"
        : model.Kind(destination) == false && !overwrite ? "FileAlreadyExists"
        : model.Kind(Tree.Parent(destination)) is null ? "FileNotFound"
        : null;
}
