using GuestOps.Server.Http;

namespace GuestOps.Tests.Server;

[TestClass]
public sealed class SessionCookieTests
{
    [TestMethod]
    [DataRow("vmware_soap_session=abc", "abc")]
    [DataRow("vmware_soap_session=\"abc\"; Path=/; HttpOnly; Secure", "abc")]
    [DataRow("vmware_soap_session=abc; HttpOnly", "abc")]
    [DataRow("other=1; vmware_soap_session=\"abc\"", "abc")]
    [DataRow("vmware_soap_sessionX=1", null)]
    [DataRow("", null)]
    public void FindsTheSessionInEchoedSetCookieValues(string header, string? expected) =>
        Assert.AreEqual(expected, SessionCookie.Find([header]));

    [TestMethod]
    public void SecureOnlyOverHttps()
    {
        Assert.EndsWith("; Secure", SessionCookie.SetCookieValue("k", secure: true));
        Assert.DoesNotContain("Secure", SessionCookie.SetCookieValue("k", secure: false));
    }
}
