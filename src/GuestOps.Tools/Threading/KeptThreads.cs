namespace GuestOps.Tools.Threading;

/// <summary>One piece of blocking work for <see cref="KeptThreads"/>.</summary>
internal abstract class KeptWork
{
    /// <summary>Runs on one of the kept threads; must not throw (it reports its own failure).</summary>
    public abstract void Run();

    /// <summary>Makes the outcome known, after the thread counts as free again (so work posted by whatever the outcome
    /// wakes finds it free instead of making another thread); must not throw.</summary>
    public abstract void Publish();
}

/// <summary>
/// Threads of their own for blocking work (a PAM conversation, a switch of the thread's credentials), kept for the life
/// of the process instead of one thread per piece of work, and never the thread pool's, whose few threads a handful of
/// blocked calls would hold.
/// <para>
/// Kept because starting a thread is not cheap here: a NativeAOT runtime's Thread.Start yields the core in a loop until
/// the new thread runs, which on a guest's small machine competes with the very work the thread is for. A plain queue
/// under a monitor, not a BlockingCollection, whose SemaphoreSlim spins (sched_yield) before blocking: with one mostly
/// idle worker per VM, every call to a cold worker paid its threads' spinning (docs/reliability.md, the scale run).
/// Monitor.Wait blocks at once.
/// </para>
/// <para>
/// A new thread takes the credentials of the thread that creates it: threads are made in the constructor
/// (<paramref name="startAll"/>) or, lazily, by <see cref="Post"/> on the poster's thread, which must then have the
/// process's own identity (never a thread acting as a guest user).
/// </para>
/// </summary>
/// <param name="name">The threads' name prefix.</param>
/// <param name="maxThreads">Most threads at once; work beyond that waits in the queue.</param>
/// <param name="startAll">Make every thread now instead of when work first needs one.</param>
internal sealed class KeptThreads : IDisposable
{
    private const int StackSize = 256 * 1024;

    private readonly Queue<KeptWork> _queue = new();
    private readonly object _gate = new();
    private readonly string _name;
    private readonly int _maxThreads;
    private int _threads;
    private int _idle;
    private bool _completed;

    public KeptThreads(string name, int maxThreads, bool startAll = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxThreads);
        _name = name;
        _maxThreads = maxThreads;
        if (startAll)
        {
            lock (_gate)
            {
                while (_threads < maxThreads)
                {
                    StartThread();
                }
            }
        }
    }

    /// <summary>Threads made so far.</summary>
    public int ThreadCount
    {
        get
        {
            lock (_gate)
            {
                return _threads;
            }
        }
    }

    /// <summary>Queues the work; a new thread is made when no idle thread is left for it and fewer than the maximum run.</summary>
    public void Post(KeptWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            // A woken thread counts as idle until it runs again, so queued work beyond the idle threads needs a new one
            // (made before the work is queued: a thread that cannot start leaves no work behind).
            if (_queue.Count + 1 > _idle && _threads < _maxThreads)
            {
                StartThread();
            }

            _queue.Enqueue(work);
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>Runs <paramref name="work"/> on a kept thread; its result or exception completes the task (whose
    /// continuations run on the pool, not on the kept thread). Canceled while it waits for a thread, it is not run.</summary>
    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        cancellationToken.ThrowIfCancellationRequested();
        var item = new FuncWork<T>(work, cancellationToken);
        Post(item);
        return item.Task;
    }

    /// <summary>Lets the threads end once the queue is empty.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void StartThread()
    {
        // UnsafeStart: the thread serves every later caller, so it must not keep the first one's async-local state.
        var thread = new Thread(Loop, StackSize) { IsBackground = true, Name = $"{_name}-{_threads}" };
        thread.UnsafeStart();
        _threads++;
    }

    private void Loop()
    {
        KeptWork? done = null;
        while (Take(done) is { } work)
        {
            work.Run();
            done = work;
        }
    }

    /// <summary>Publishes the work done before (outside the lock, once this thread counts as idle), then waits for the
    /// next; null once disposed and drained.</summary>
    private KeptWork? Take(KeptWork? done)
    {
        if (done is not null)
        {
            lock (_gate)
            {
                _idle++;
            }

            done.Publish();
            lock (_gate)
            {
                _idle--;
            }
        }

        lock (_gate)
        {
            while (_queue.Count == 0 && !_completed)
            {
                _idle++;
                Monitor.Wait(_gate);
                _idle--;
            }

            return _queue.Count > 0 ? _queue.Dequeue() : null;
        }
    }

    private sealed class FuncWork<T> : KeptWork
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Func<T> _work;
        private readonly CancellationTokenRegistration _registration;

        public FuncWork(Func<T> work, CancellationToken cancellationToken)
        {
            _work = work;
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.Register(static c => ((TaskCompletionSource<T>)c!).TrySetCanceled(), _completion);
            }
        }

        public Task<T> Task => _completion.Task;

        private T? _result;
        private Exception? _error;
        private bool _ran;

        public override void Run()
        {
            _registration.Dispose();
            if (_completion.Task.IsCompleted)
            {
                return; // canceled while it waited
            }

            try
            {
                _result = _work();
            }
            catch (Exception e)
            {
                _error = e;
            }

            _ran = true;
        }

        public override void Publish()
        {
            if (_error is not null)
            {
                _completion.TrySetException(_error);
            }
            else if (_ran)
            {
                _completion.TrySetResult(_result!);
            }
        }
    }
}
