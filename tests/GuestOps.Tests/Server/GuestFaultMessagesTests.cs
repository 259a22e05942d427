using GuestOps.Channel.Messages;
using GuestOps.Server.Guest;
using GuestOps.Vim;

namespace GuestOps.Tests.Server;

[TestClass]
public sealed class GuestFaultMessagesTests
{
    [TestMethod]
    public void FileNotFound_IsWordedAsEsxiWordsIt_TheGuestsExplanationFollowsAsASecondSentence()
    {
        var error = new GuestError(GuestErrorCode.FileNotFound, "Cannot access '/tmp/x': no such file or directory") { Path = "/tmp/x", OsError = 2 };

        var message = GuestFaultMessages.Describe(GuestCalls.Fault(error), error.Message);

        Assert.AreEqual("File /tmp/x was not found. Cannot access '/tmp/x': no such file or directory", message);
    }

    [TestMethod]
    [DataRow(GuestErrorCode.InvalidLogin, "Failed to authenticate with the guest operating system using the supplied credentials.")]
    [DataRow(GuestErrorCode.FileAlreadyExists, "Cannot complete the operation because the file or folder /p already exists")]
    [DataRow(GuestErrorCode.FileAccessError, "Unable to access file /p")]
    [DataRow(GuestErrorCode.FileLocked, "Unable to access file /p since it is locked")]
    [DataRow(GuestErrorCode.NoSuchProcess, "Process 42 was not found in the guest operating system.")]
    [DataRow(GuestErrorCode.UnknownOperation, "The guest operations agent is out of date.")]
    [DataRow(GuestErrorCode.UnknownAuthenticationSession, "A specified parameter was not correct: sessionID")]
    public void GuestErrors_StartWithTheStandardText(GuestErrorCode code, string expected)
    {
        var error = new GuestError(code, "guest detail") { Path = "/p", Pid = 42 };

        var message = GuestFaultMessages.Describe(GuestCalls.Fault(error), error.Message);

        Assert.IsTrue(message.StartsWith(expected, StringComparison.Ordinal), message);
        Assert.IsTrue(message.EndsWith(" guest detail", StringComparison.Ordinal), message);
    }

    [TestMethod]
    public void EveryGuestErrorCode_HasAStandardText_NotTheFaultsTypeName()
    {
        foreach (var code in Enum.GetValues<GuestErrorCode>())
        {
            var fault = GuestCalls.Fault(new GuestError(code, "detail") { Path = "/p", Pid = 1 });

            var summary = GuestFaultMessages.Summary(fault);

            Assert.AreNotEqual(fault.GetType().Name, summary, $"{code}: {fault.GetType().Name} has no text");
            Assert.IsFalse(summary.Contains("detail", StringComparison.Ordinal), $"{code}: {summary}");
        }
    }

    [TestMethod]
    public void AnEmptyOrRepeatedDetail_AddsNothing()
    {
        var fault = new FileNotFound { file = "/a" };

        Assert.AreEqual("File /a was not found", GuestFaultMessages.Describe(fault, null));
        Assert.AreEqual("File /a was not found", GuestFaultMessages.Describe(fault, "  "));
        Assert.AreEqual("File /a was not found", GuestFaultMessages.Describe(fault, "File /a was not found"));
        Assert.AreEqual("A specified parameter was not correct", GuestFaultMessages.Describe(new InvalidArgument()));
    }
}
