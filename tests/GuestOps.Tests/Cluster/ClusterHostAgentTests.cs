using GuestOps.Channel.Messages;
using GuestOps.Cluster.HostAgents;
using GuestOps.Host;
using GuestOps.Host.Dispatch;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace GuestOps.Tests.Cluster;

/// <summary>
/// A front end's view of another host agent through its polls: a live member whose poll times out now and then keeps
/// its VMs ready; one that times out more than <see cref="ClusterHostAgent.MissedPollsAllowed"/> times in a row, whose
/// poll fails, or that the membership no longer lists is disconnected at once, and connected again when it answers.
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

    private readonly Queue<Func<Task<HostAgentInventory>>> _answers = new();

    private readonly Mock<IHostAgentGrain> _grain = new();

    private ClusterHostAgent NewAgent()
    {
        _grain.Setup(g => g.GetInventoryAsync(It.IsAny<long>())).Returns(() => _answers.Dequeue()());
        var grains = new Mock<IGrainFactory>();
        grains.Setup(f => f.GetGrain<IHostAgentGrain>(Host, null)).Returns(_grain.Object);
        return new ClusterHostAgent(grains.Object, Mock.Of<IClusterMembershipService>(), Mock.Of<ISiloMetadataCache>(), null, NullLogger<ClusterHostAgent>.Instance);
    }

    private void Answer(long version) => _answers.Enqueue(() => Task.FromResult(new HostAgentInventory(version, HostAgentJson.Serialize([Vm]), ["https://esx-a:8443"])));

    private void AnswerTooLate() => _answers.Enqueue(() => new TaskCompletionSource<HostAgentInventory>().Task);

    private void Fail() => _answers.Enqueue(() => Task.FromException<HostAgentInventory>(new SiloUnavailableException("gone")));

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
        _answers.Enqueue(() => Task.FromResult(new HostAgentInventory(1, HostAgentJson.Serialize([Vm, other]), ["https://esx-a:8443"])));
        await agent.PollAsync(Live, CancellationToken.None);
        var unchanged = agent.GetVirtualMachine("vm-a2")!;
        var changed = agent.NextChange;

        _answers.Enqueue(() => Task.FromResult(new HostAgentInventory(2, HostAgentJson.Serialize([Vm with { Agent = GuestAgentState.NotRunning }, other]), ["https://esx-a:8443"])));
        await agent.PollAsync(Live, CancellationToken.None);

        Assert.IsTrue(changed.IsCompleted, "a poll that publishes a change notifies it");
        Assert.AreSame(unchanged, agent.GetVirtualMachine("vm-a2"), "an unchanged VM keeps its snapshot: one copy, not one per change");
        Assert.AreSame(GuestAgentState.NotRunning, agent.GetVirtualMachine("vm-a1")!.Agent, "the agent state of a VM without tools is the shared one");
        Assert.IsNotNull(string.IsInterned(unchanged.Configuration.GuestId), "the guest type's strings are kept once");
        Assert.IsFalse(agent.NextChange.IsCompleted);
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
