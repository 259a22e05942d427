namespace GuestOps.Vim.Contracts;

/// <summary>SOAPAction sent by WCF clients built on these contracts; the server tolerates any value.</summary>
public static class VimActions
{
    public const string Default = "urn:vim25/5.0";
}
