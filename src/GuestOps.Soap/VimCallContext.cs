namespace GuestOps.Soap;

/// <summary>
/// The vim25 call a managed object's method is running for: its session, request and cancellation. Contract methods
/// take only the operation's wire parameters, so an implementation reads the rest here, as ASP.NET Core code reads
/// the current request through IHttpContextAccessor.
/// </summary>
public interface IVimCallContext
{
    /// <summary>The call being dispatched on this async flow. Throws when no call is being dispatched.</summary>
    VimCall Current { get; }
}

/// <summary>Holds the current call per async flow. The dispatcher enters each call before invoking the managed object.</summary>
public sealed class VimCallContext : IVimCallContext
{
    private readonly AsyncLocal<VimCall?> _current = new();

    public VimCall Current => _current.Value ?? throw new InvalidOperationException("No vim call is being dispatched on this flow.");

    /// <summary>Makes <paramref name="call"/> current on this flow until the scope is disposed. Inside an async method,
    /// the call also stops being current for the method's caller when the method returns.</summary>
    public Scope Enter(VimCall call)
    {
        var previous = _current.Value;
        _current.Value = call;
        return new Scope(this, previous);
    }

    /// <summary>Restores the call that was current before <see cref="Enter"/>.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly VimCallContext? _owner;
        private readonly VimCall? _previous;

        internal Scope(VimCallContext owner, VimCall? previous)
        {
            _owner = owner;
            _previous = previous;
        }

        public void Dispose()
        {
            if (_owner is not null)
            {
                _owner._current.Value = _previous;
            }
        }
    }
}
