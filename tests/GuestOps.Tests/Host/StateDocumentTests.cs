using GuestOps.Host.SharedState;

namespace GuestOps.Tests.Host;

/// <summary>
/// <see cref="StateDocument.ChangeAsync"/>: a change is applied to the latest document, and a refusal stands only when
/// the store has nothing newer than the copy it was decided on.
/// </summary>
[TestClass]
public sealed class StateDocumentTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task ARefusalOnALaggingCopy_IsDecidedAgainOnTheLatestDocument()
    {
        var authority = new LocalDocument<string[]>([]);
        var lagging = new LaggingDocument<string[]>(authority);
        await authority.ChangeAsync(names => ((string[])[.. names, "alice"], true), TestContext.CancellationToken);

        var result = await lagging.ChangeAsync(names => names.Contains("alice") ? ((string[])[.. names, "alice's token used"], "used") : throw new InvalidOperationException("unknown"), TestContext.CancellationToken);

        Assert.AreEqual("used", result, "decided again on the latest document, where alice exists");
        CollectionAssert.AreEqual(new[] { "alice", "alice's token used" }, authority.Current.Value);
    }

    [TestMethod]
    public async Task ARefusalOnTheLatestDocument_StandsAndIsDecidedOnce()
    {
        var document = new LocalDocument<string[]>(["alice"]);
        var calls = 0;

        await Assert.ThrowsExactlyAsync<InvalidOperationException>(async () => await document.ChangeAsync<string[], bool>(_ => { calls++; throw new InvalidOperationException("refused"); }, TestContext.CancellationToken));

        Assert.AreEqual(1, calls, "nothing newer in the store: the refusal is not tried again");
        Assert.AreEqual(0, document.Current.Version);
    }
}

/// <summary>A member's copy of <paramref name="authority"/> as it was when made, until <see cref="RefreshAsync"/>.</summary>
internal sealed class LaggingDocument<T>(LocalDocument<T> authority) : IStateDocument<T>
    where T : class
{
    private Versioned<T> _copy = authority.Current;

    public Versioned<T> Current => _copy;

    public async ValueTask<bool> TryReplaceAsync(long expectedVersion, T next, CancellationToken cancellationToken = default)
    {
        var replaced = await authority.TryReplaceAsync(expectedVersion, next, cancellationToken);
        _copy = authority.Current;
        return replaced;
    }

    public ValueTask RefreshAsync(CancellationToken cancellationToken = default)
    {
        _copy = authority.Current;
        return ValueTask.CompletedTask;
    }
}
