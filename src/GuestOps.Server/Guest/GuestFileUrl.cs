using System.Globalization;
using GuestOps.Host.Transfers;

namespace GuestOps.Server.Guest;

/// <summary>The URL of an issued transfer as InitiateFileTransferToGuest / FromGuest return it:
/// <c>https://*:PORT/guestFile?id=N&amp;token=T</c>, with <c>*</c> as host (the client substitutes the host it called).</summary>
public static class GuestFileUrl
{
    public static string Format(IssuedTransfer transfer, int port, bool https) =>
        string.Create(CultureInfo.InvariantCulture, $"{(https ? "https" : "http")}://*:{port}/guestFile?id={transfer.Id}&token={transfer.Token}");
}
