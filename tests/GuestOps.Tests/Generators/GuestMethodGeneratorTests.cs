using GuestOps.Channel.Messages;
using GuestOps.Generators;
using GuestOps.Tools;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace GuestOps.Tests.Generators;

/// <summary>
/// The guest-method spine: a guest method missing from a layer fails the build. The generator runs here on small
/// compilations that lack one piece, and each must end in an error diagnostic (which fails <c>dotnet build</c>).
/// </summary>
[TestClass]
public sealed class GuestMethodGeneratorTests
{
    [TestMethod]
    public void AWorkerWithoutAGuestMethodsHandler_FailsTheBuild()
    {
        // A handler class against the real GuestOps.Channel that handles one method only.
        var diagnostics = Run(
            """
            using GuestOps.Channel;
            using GuestOps.Channel.Connection;
            using GuestOps.Channel.Messages;

            namespace Worker;

            [GuestMethodHandlers]
            public sealed partial class Handler
            {
                private ValueTask<ChannelResponse> ValidateCredentialsInGuestAsync(uint id, ValidateCredentialsRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
                    new(ChannelResponse.Success(EmptyResult.Instance));
            }
            """,
            withChannel: true);

        var missing = diagnostics.Where(d => d.Id == "GUESTOPS010").ToList();
        Assert.AreEqual(GuestMethods.All.Count - 1, missing.Count, string.Join("\n", diagnostics));
        Assert.IsTrue(missing.All(d => d.Severity == DiagnosticSeverity.Error));
        Assert.IsTrue(missing.Any(d => d.GetMessage().Contains("ListFilesInGuestAsync(uint id, global::GuestOps.Channel.Messages.ListFilesRequest request", StringComparison.Ordinal)),
            string.Join("\n", missing.Select(d => d.GetMessage())));
    }

    [TestMethod]
    public void AWorkerWithEveryHandler_Builds_AndAdvertisesEveryGuestMethod()
    {
        var handlers = string.Join("\n", GuestMethods.All.Select(m =>
            $"    private ValueTask<ChannelResponse> {m.Name}Async(uint id, {m.RequestType.FullName} request, IncomingCall? call, CancellationToken cancellationToken) => default;"));
        var diagnostics = Run(
            $$"""
            using GuestOps.Channel;
            using GuestOps.Channel.Connection;
            using GuestOps.Channel.Messages;

            namespace Worker;

            [GuestMethodHandlers]
            public sealed partial class Handler
            {
            {{handlers}}
            }
            """,
            withChannel: true);

        Assert.IsFalse(diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error), string.Join("\n", diagnostics));
        CollectionAssert.AreEqual(GuestMethods.All.Select(m => m.Name).ToList(), GuestRequestHandler.Operations.ToList(), "the worker's capabilities are every guest method");
    }

    [TestMethod]
    [DataRow("""[JsonDerivedType(typeof(ListFilesRequest), "ListFilesInGuest")]""", "GUESTOPS005", DisplayName = "request not registered for JSON")]
    [DataRow("""[JsonDerivedType(typeof(ListFilesRequest), "ListFilesInGuest")] [JsonDerivedType(typeof(MakeDirectoryRequest), "makeDirectory")]""", "GUESTOPS005", DisplayName = "registered under another name")]
    public void ARequestMissingFromTheChannelsJson_FailsTheBuild(string registrations, string expected)
    {
        var diagnostics = Run(MiniChannel(registrations, "[JsonDerivedType(typeof(ListFilesResult), \"listFiles\")] [JsonDerivedType(typeof(EmptyResult), \"empty\")]"), withChannel: false);

        var error = diagnostics.SingleOrDefault(d => d.Id == expected);
        Assert.IsNotNull(error, string.Join("\n", diagnostics));
        Assert.AreEqual(DiagnosticSeverity.Error, error.Severity);
        StringAssert.Contains(error.GetMessage(), "MakeDirectoryInGuest");
    }

    [TestMethod]
    public void AResultMissingFromTheChannelsJson_FailsTheBuild()
    {
        var diagnostics = Run(MiniChannel(
            """[JsonDerivedType(typeof(ListFilesRequest), "ListFilesInGuest")] [JsonDerivedType(typeof(MakeDirectoryRequest), "MakeDirectoryInGuest")]""",
            "[JsonDerivedType(typeof(ListFilesResult), \"listFiles\")]"), withChannel: false);

        var error = diagnostics.Single(d => d.Id == "GUESTOPS006");
        Assert.AreEqual(DiagnosticSeverity.Error, error.Severity);
        StringAssert.Contains(error.GetMessage(), "EmptyResult");
    }

    [TestMethod]
    public void ACompleteChannel_Builds()
    {
        var diagnostics = Run(MiniChannel(
            """[JsonDerivedType(typeof(ListFilesRequest), "ListFilesInGuest")] [JsonDerivedType(typeof(MakeDirectoryRequest), "MakeDirectoryInGuest")]""",
            "[JsonDerivedType(typeof(ListFilesResult), \"listFiles\")] [JsonDerivedType(typeof(EmptyResult), \"empty\")]"), withChannel: false);

        Assert.IsFalse(diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error), string.Join("\n", diagnostics));
    }

    /// <summary>A GuestOps.Channel in miniature: two guest methods, the JSON registrations given.</summary>
    private static string MiniChannel(string requestRegistrations, string resultRegistrations) =>
        $$"""
        using System.Text.Json.Serialization;

        namespace GuestOps.Channel.Messages;

        [AttributeUsage(AttributeTargets.Class)]
        public sealed class GuestMethodAttribute(string name) : Attribute
        {
            public string Name { get; } = name;
            public GuestPrivilege Privilege { get; set; }
            public GuestErrorCode[] Faults { get; set; } = [];
        }

        public enum GuestPrivilege { Query, Modify, Execute }
        public enum GuestErrorCode { InternalError = 1, FileNotFound = 4 }
        public sealed record GuestMethod(string Name, Type RequestType, Type ResultType, GuestPrivilege Privilege, IReadOnlyList<GuestErrorCode> Faults);
        public static partial class GuestMethods { }
        public interface IChannelRequest<TResult> where TResult : ChannelResult { }

        [JsonPolymorphic(TypeDiscriminatorPropertyName = "op")]
        {{requestRegistrations}}
        public abstract record ChannelRequest
        {
            public abstract string Operation { get; }
        }

        [JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
        {{resultRegistrations}}
        public abstract record ChannelResult;
        public sealed record EmptyResult : ChannelResult;
        public sealed record ListFilesResult : ChannelResult;

        [GuestMethod("ListFilesInGuest", Faults = [GuestErrorCode.FileNotFound])]
        public sealed partial record ListFilesRequest : ChannelRequest, IChannelRequest<ListFilesResult>;

        [GuestMethod("MakeDirectoryInGuest", Privilege = GuestPrivilege.Modify)]
        public sealed partial record MakeDirectoryRequest : ChannelRequest, IChannelRequest<EmptyResult>;
        """;

    /// <summary>Compiles <paramref name="source"/> with the generator and returns the generator's diagnostics and
    /// the compiler's errors after generation.</summary>
    private static IReadOnlyList<Diagnostic> Run(string source, bool withChannel)
    {
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(path => !withChannel || !path.EndsWith("GuestOps.Channel.dll", StringComparison.Ordinal))
            .Select(path => MetadataReference.CreateFromFile(path))
            .ToList();
        if (withChannel)
        {
            references.Add(MetadataReference.CreateFromFile(typeof(ChannelRequest).Assembly.Location));
        }

        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create(
            "GeneratorTest",
            [
                CSharpSyntaxTree.ParseText(source, parse, path: "Test.cs"),
                CSharpSyntaxTree.ParseText(
                    "global using System; global using System.Collections.Generic; global using System.Threading; global using System.Threading.Tasks;",
                    parse,
                    path: "Usings.cs"),
            ],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

        CSharpGeneratorDriver.Create([new GuestMethodGenerator().AsSourceGenerator()], parseOptions: parse)
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        return [.. generatorDiagnostics, .. output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error)];
    }
}
