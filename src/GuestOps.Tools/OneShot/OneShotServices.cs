using GuestOps.Tools.Auth;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Impersonation;
using GuestOps.Tools.Logging;
using GuestOps.Tools.Processes;
using Microsoft.Extensions.Logging;
using GuestOps.Tools.State;

namespace GuestOps.Tools.OneShot;

/// <summary>
/// What the tools keep for the life of their process when they serve requests without a channel: one request for
/// <c>--exec</c>, every request for the resident tools. Keeping them is what makes a resident call cheap: the PAM
/// authenticator (its stack stays loaded after the first check), the login throttle and the credential cache across
/// calls, and the impersonation threads.
/// </summary>
internal sealed class OneShotServices : IDisposable
{
    private readonly PamAuthenticator _pam;
    private readonly StderrLoggerFactory _loggers;

    /// <param name="options">The tools' options (the state directory, the PAM service, the staging file of an --exec run).</param>
    /// <param name="cache">Verified credentials kept across calls (GuestCredentialCacheSeconds), or null.</param>
    /// <param name="userThreads">Threads that act as guest users at once.</param>
    /// <param name="supervisor">The resident tools' parent of started programs; null: a <c>--supervise</c> process each.</param>
    public OneShotServices(OneShotCommands.Options options, CredentialCache? cache, int userThreads, ProgramSupervisor? supervisor = null)
    {
        Options = options;
        Supervisor = supervisor;
        _loggers = new StderrLoggerFactory(LogLevel.Warning);
        State = new ToolsStateDirectory(options.StateDirectory).Ensure();
        ProgramRecords = new ProgramRecordFiles(State.Programs);
        Users = new PosixUserDirectory();
        _pam = new PamAuthenticator(options.PamService);
        Authentication = new GuestAuthenticationService(_pam, Users, LoginThrottle.CreateDefault(TimeProvider.System), cache, _loggers.CreateLogger<GuestAuthenticationService>());
        Impersonator = new ThreadImpersonator(userThreads, _loggers.CreateLogger<ThreadImpersonator>());
    }

    public OneShotCommands.Options Options { get; }

    public ToolsStateDirectory State { get; }

    /// <summary>The records of started programs, read for the calls that list or terminate them.</summary>
    public ProgramRecordFiles ProgramRecords { get; }

    public PosixUserDirectory Users { get; }

    public GuestAuthenticationService Authentication { get; }

    public ThreadImpersonator Impersonator { get; }

    public ProgramSupervisor? Supervisor { get; }

    public ILoggerFactory Loggers => _loggers;

    public void Dispose()
    {
        Impersonator.Dispose();
        _pam.Dispose();
        _loggers.Dispose();
    }
}
