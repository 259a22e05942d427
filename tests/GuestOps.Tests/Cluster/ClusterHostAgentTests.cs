using GuestOps.Channel.Messages;
using GuestOps.Cluster.HostAgents;
using GuestOps.Host;
using GuestOps.Host.Dispatch;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Serialization;

namespace GuestOps.Tests.Cluster;

/// <summary>
/// A front end's view of another host agent through its polls: a live member whose poll times out now and then keeps
/// its VMs ready; one that times out more than <see cref="ClusterHostAgent.MissedPollsAllowed"/> times in a row, whose
/// poll fails, or that the membership no longer lists is disconnected at once, and connected again when it answers.
/// Each poll asks for the changes since the epoch and version held, and applies them: a changed VM replaced, a removed
/// one gone, the others kept as they are; everything replaced when the host agent answers with another epoch.
/// </summary>
[TestClass]
public sealed class ClusterHostAgentTests
{
    private const string Host = "esx-a";

    private static readonly VmSnapshot Vm = new(
        new VmConfiguration { Id = "vm-a1", Name = "a-vm-1", Uuid = "u", InstanceUuid = "i" },
        VmPowerState.PoweredOn,
        null,
        new GuestAgentState { Running = true, OperationsReady = true });

    private readonly Queue<Func<Task<HostAgentChanges>>> _answers = new();

    /// <summary>The epoch and version each poll asked since.</summary>
    private readonly List<(long Epoch, long Version)> _asked = [];

    private readonly Mock<IHostAgentGrain> _grain = new();

    private ClusterHostAgent NewAgent()
    {
        _grain.Setup(g => g.GetChangesAsync(It.IsAny<long>(), It.IsAny<long>())).Returns((long epoch, long version) =>
        {
            _asked.Add((epoch, version));
            return _answers.Dequeue()();
        });
        var grains = new Mock<IGrainFactory>();
        grains.Setup(f => f.GetGrain<IHostAgentGrain>(Host, null)).Returns(_grain.Object);
        return new ClusterHostAgent(grains.Object, Mock.Of<IClusterMembershipService>(), Mock.Of<ISiloMetadataCache>(), null, NullLogger<ClusterHostAgent>.Instance);
    }

    private void Answer(long version) => _answers.Enqueue(() => Task.FromResult(new HostAgentChanges(1, version, true, [Vm], [], ["https://esx-a:8443"])));

    private void AnswerTooLate() => _answers.Enqueue(() => new TaskCompletionSource<HostAgentChanges>().Task);

    private void Fail() => _answers.Enqueue(() => Task.FromException<HostAgentChanges>(new SiloUnavailableException("gone")));

    private static readonly HashSet<string> Live = new([Host], StringComparer.Ordinal);

    private static bool Ready(ClusterHostAgent agent) => agent.GetVirtualMachine(Vm.Configuration.Id)!.Agent.OperationsReady;

    [TestMethod]
    [Timeout(60_000)]
    public async Task ALiveMember_SlowForAsManyPollsAsAllowed_StaysConnected_OneMoreDisconnects_AnAnswerReconnects()
    {
        var agent = NewAgent();
        Answer(1);
        await agent.PollAsync(Live, CancellationToken.None);
        Assert.IsTrue(Ready(agent));

        for (var missed = 1; missed <= ClusterHostAgent.MissedPollsAllowed; missed++)
        {
            AnswerTooLate();
            await agent.PollAsync(Live, CancellationToken.None);
            Assert.IsTrue(Ready(agent), $"after {missed} slow poll(s)");
            Assert.AreEqual("https://esx-a:8443", agent.GuestFileServer(Vm.Configuration.Id, https: true), "its transfers still go to it");
        }

        // An answer in time resets the count.
        Answer(1);
        await agent.PollAsync(Live, CancellationToken.None);
        for (var missed = 1; missed <= ClusterHostAgent.MissedPollsAllowed; missed++)
        {
            AnswerTooLate();
            await agent.PollAsync(Live, CancellationToken.None);
            Assert.IsTrue(Ready(agent), $"after {missed} slow poll(s) following an answer");
        }

        AnswerTooLate();
        await agent.PollAsync(Live, CancellationToken.None);
        Assert.IsFalse(Ready(agent), "one slow poll more than allowed");
        var e = Assert.ThrowsExactly<GuestAgentException>(() => agent.GuestFileServer(Vm.Configuration.Id, https: true));
        Assert.AreEqual(GuestAgentFailure.HostNotConnected, e.Failure);

        Answer(1);
        await agent.PollAsync(Live, CancellationToken.None);
        Assert.IsTrue(Ready(agent), "connected again when it answers");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task AFailedPoll_OrAMemberNoLongerListed_DisconnectsAtOnce()
    {
        var agent = NewAgent();
        Answer(1);
        await agent.PollAsync(Live, CancellationToken.None);
        Fail();
        await agent.PollAsync(Live, CancellationToken.None);
        Assert.IsFalse(Ready(agent), "a poll that fails");

        Answer(1);
        await agent.PollAsync(Live, CancellationToken.None);
        Assert.IsTrue(Ready(agent));
        await agent.PollAsync(new HashSet<string>(StringComparer.Ordinal), CancellationToken.None);
        Assert.IsFalse(Ready(agent), "a member the membership no longer lists");
        Assert.HasCount(1, agent.ListVirtualMachines(), "its VMs stay listed");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task APollThatChangesOneVm_KeepsTheOtherVmsSnapshot_AndNotifiesTheChange()
    {
        var other = Vm with { Configuration = Vm.Configuration with { Id = "vm-a2", Name = "a-vm-2" } };
        var agent = NewAgent();
        _answers.Enqueue(() => Task.FromResult(new HostAgentChanges(1, 1, true, [Vm, other], [], ["https://esx-a:8443"])));
        await agent.PollAsync(Live, CancellationToken.None);
        var unchanged = agent.GetVirtualMachine("vm-a2")!;
        var changed = agent.NextChange;

        _answers.Enqueue(() => Task.FromResult(new HostAgentChanges(1, 2, true, [Vm with { Agent = GuestAgentState.NotRunning }, other], [], ["https://esx-a:8443"])));
        await agent.PollAsync(Live, CancellationToken.None);

        Assert.IsTrue(changed.IsCompleted, "a poll that publishes a change notifies it");
        Assert.AreSame(unchanged, agent.GetVirtualMachine("vm-a2"), "an unchanged VM keeps its snapshot: one copy, not one per change");
        Assert.AreSame(GuestAgentState.NotRunning, agent.GetVirtualMachine("vm-a1")!.Agent, "the agent state of a VM without tools is the shared one");
        Assert.IsFalse(agent.NextChange.IsCompleted);
    }

    private static VmSnapshot Other(string id) => Vm with { Configuration = Vm.Configuration with { Id = id, Name = id + "-name" } };

    private static string[] Ids(ClusterHostAgent agent) => agent.ListVirtualMachines().Select(vm => vm.Configuration.Id).ToArray();

    [TestMethod]
    [Timeout(60_000)]
    public async Task APoll_AsksSinceTheVersionHeld_AndAppliesChangesAndRemovals_AnotherEpochReplacesEverything()
    {
        var agent = NewAgent();
        _answers.Enqueue(() => Task.FromResult(new HostAgentChanges(7, 3, true, [Vm, Other("vm-a2"), Other("vm-a3")], [], ["https://esx-a:8443"])));
        await agent.PollAsync(Live, CancellationToken.None);
        var kept = agent.GetVirtualMachine("vm-a1")!;

        // Only the changes since version 3 cross: vm-a2 not ready any more, vm-a3 removed, vm-a4 added.
        _answers.Enqueue(() => Task.FromResult(new HostAgentChanges(7, 5, false, [Other("vm-a4"), Other("vm-a2") with { Agent = GuestAgentState.NotRunning }], ["vm-a3"], ["https://esx-a:8443"])));
        await agent.PollAsync(Live, CancellationToken.None);
        CollectionAssert.AreEqual(new[] { "vm-a1", "vm-a2", "vm-a4" }, Ids(agent));
        Assert.IsFalse(agent.GetVirtualMachine("vm-a2")!.Agent.OperationsReady);
        Assert.IsNull(agent.GetVirtualMachine("vm-a3"), "a removed VM");
        Assert.IsNull(agent.HostNameOf("vm-a3"));
        Assert.AreEqual(Host, agent.HostNameOf("vm-a4"));
        Assert.AreSame(kept, agent.GetVirtualMachine("vm-a1"), "an unchanged VM did not cross and stays as it was");

        // A change of one VM's state only.
        var noticed = agent.NextChange;
        _answers.Enqueue(() => Task.FromResult(new HostAgentChanges(7, 6, false, [Vm with { Agent = GuestAgentState.NotRunning }], [], ["https://esx-a:8443"])));
        await agent.PollAsync(Live, CancellationToken.None);
        Assert.IsTrue(noticed.IsCompleted);
        Assert.IsFalse(Ready(agent));
        Assert.AreSame(kept.Configuration, agent.GetVirtualMachine("vm-a1")!.Configuration, "its configuration is kept once");

        // The host agent restarted: another epoch, everything.
        _answers.Enqueue(() => Task.FromResult(new HostAgentChanges(9, 1, true, [Vm, Other("vm-a5")], [], ["https://esx-a:8443"])));
        await agent.PollAsync(Live, CancellationToken.None);
        CollectionAssert.AreEqual(new[] { "vm-a1", "vm-a5" }, Ids(agent));
        Assert.IsTrue(Ready(agent));

        // Nothing changed: the same published VMs.
        var listed = agent.ListVirtualMachines();
        _answers.Enqueue(() => Task.FromResult(new HostAgentChanges(9, 1, false, [], [], ["https://esx-a:8443"])));
        await agent.PollAsync(Live, CancellationToken.None);
        Assert.AreSame(listed, agent.ListVirtualMachines());

        CollectionAssert.AreEqual(new[] { (0L, 0L), (7L, 3L), (7L, 5L), (7L, 6L), (9L, 1L) }, _asked);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task AGuestCallToAnotherHostAgent_SendsTheRequestsJsonAndOperation_AndReadsTheWorkersJson()
    {
        var agent = NewAgent();
        Answer(1);
        await agent.PollAsync(Live, CancellationToken.None);
        var request = new ListFilesRequest { Path = "/tmp", Index = 2, Credential = new GuestPasswordCredential("demo", "pw") };
        var answer = ChannelResponse.Success(new ListFilesResult { Entries = [new GuestFileEntry { Name = "a", Size = 3 }], Remaining = 1 });
        byte[]? sent = null;
        _grain.Setup(g => g.InvokeGuestAsync(Vm.Configuration.Id, "ListFilesInGuest", It.IsAny<byte[]>(), It.IsAny<CancellationToken>()))
            .Callback((string _, string _, byte[] json, CancellationToken _) => sent = json)
            .ReturnsAsync(new GuestCallOutcome(ChannelMessageJson.SerializeResponse(answer), null, null));

        var response = await agent.InvokeGuestAsync(Vm.Configuration.Id, request, CancellationToken.None);

        Assert.AreEqual(request, ChannelMessageJson.DeserializeRequest(sent), "the request crosses as the channel's JSON");
        var result = (ListFilesResult)response.Result!;
        Assert.AreEqual("a", result.Entries[0].Name);
        Assert.AreEqual(1, result.Remaining);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task AHostAgentThatWasDisconnected_IsAskedForEverything()
    {
        var agent = NewAgent();
        _answers.Enqueue(() => Task.FromResult(new HostAgentChanges(7, 3, true, [Vm], [], ["https://esx-a:8443"])));
        await agent.PollAsync(Live, CancellationToken.None);
        Fail();
        await agent.PollAsync(Live, CancellationToken.None);
        _answers.Enqueue(() => Task.FromResult(new HostAgentChanges(7, 3, true, [Vm], [], ["https://esx-a:8443"])));
        await agent.PollAsync(Live, CancellationToken.None);
        Assert.IsTrue(Ready(agent));
        CollectionAssert.AreEqual(new[] { (0L, 0L), (7L, 3L), (0L, 0L) }, _asked, "its VMs were marked not ready here");
    }

    [TestMethod]
    public void HostAgentChanges_CrossInOrleansFormat_WithOneSharedStateForVmsWithoutTools()
    {
        using var services = new ServiceCollection().AddSerializer(b => b.AddAssembly(typeof(HostAgentChanges).Assembly)).BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();
        var withIp = Other("vm-a2") with { Configuration = Other("vm-a2").Configuration with { IpAddress = "10.0.0.2", NumCpu = 4 }, BootTime = DateTime.UtcNow, PowerState = VmPowerState.Suspended };
        var sent = new HostAgentChanges(7, 3, false, [Vm, withIp, Other("vm-a3") with { Agent = GuestAgentState.NotRunning }], ["vm-a9"], ["https://esx-a:8443"]);

        var received = serializer.Deserialize<HostAgentChanges>(serializer.SerializeToArray(sent))!;

        Assert.AreEqual((sent.Epoch, sent.Version, sent.Full), (received.Epoch, received.Version, received.Full));
        CollectionAssert.AreEqual(sent.Changed, received.Changed);
        CollectionAssert.AreEqual(sent.Removed, received.Removed);
        CollectionAssert.AreEqual(sent.GuestFileServers, received.GuestFileServers);
        Assert.AreSame(GuestAgentState.NotRunning, received.Changed[2].Agent);
        Assert.AreSame(string.IsInterned(received.Changed[1].Configuration.GuestFullName), received.Changed[1].Configuration.GuestFullName);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task AGuestCallToAnotherHostAgent_ItsFailure_AnUnreadableAnswer_AndAFailedGrainCall_AreTheSingleProcesssOutcomes()
    {
        var agent = NewAgent();
        Answer(1);
        await agent.PollAsync(Live, CancellationToken.None);
        var request = new ValidateCredentialsRequest { Credential = new GuestPasswordCredential("demo", "pw") };
        var outcomes = new Queue<Func<Task<GuestCallOutcome>>>();
        _grain.Setup(g => g.InvokeGuestAsync(Vm.Configuration.Id, "ValidateCredentialsInGuest", It.IsAny<byte[]>(), It.IsAny<CancellationToken>()))
            .Returns(() => outcomes.Dequeue()());

        outcomes.Enqueue(() => Task.FromResult(new GuestCallOutcome(null, (int)GuestAgentFailure.ComponentsOutOfDate, "too old")));
        var failed = await Assert.ThrowsExactlyAsync<GuestAgentException>(() => agent.InvokeGuestAsync(Vm.Configuration.Id, request, CancellationToken.None));
        Assert.AreEqual(GuestAgentFailure.ComponentsOutOfDate, failed.Failure);
        Assert.AreEqual("too old", failed.Message);

        // As a channel's reader answers a response it cannot read: a failure of that call, InternalError.
        outcomes.Enqueue(() => Task.FromResult(new GuestCallOutcome("{\"result\":{\"kind\":\"noSuchResult\"}}"u8.ToArray(), null, null)));
        var unreadable = await agent.InvokeGuestAsync(Vm.Configuration.Id, request, CancellationToken.None);
        Assert.AreEqual(GuestErrorCode.InternalError, unreadable.Error?.Code);
        StringAssert.StartsWith(unreadable.Error!.Message, "Unreadable response");

        outcomes.Enqueue(() => Task.FromException<GuestCallOutcome>(new SiloUnavailableException("gone")));
        var lost = await Assert.ThrowsExactlyAsync<GuestAgentException>(() => agent.InvokeGuestAsync(Vm.Configuration.Id, request, CancellationToken.None));
        Assert.AreEqual(GuestAgentFailure.HostNotConnected, lost.Failure);
    }
}
