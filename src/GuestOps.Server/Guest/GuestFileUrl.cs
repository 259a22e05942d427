using System.Globalization;
using GuestOps.Host.Transfers;

namespace GuestOps.Server.Guest;

/// <summary>The URL of an issued transfer as InitiateFileTransferToGuest / FromGuest return it:
/// <c>https://*:PORT/guestFile?id=N&amp;token=T</c>, with <c>*</c> as host (the client substitutes the host it called);
/// in a cluster, the base URL of the host agent that runs the VM (<see cref="IGuestFileServers"/>).</summary>
public static class GuestFileUrl
{
    public static string Format(IssuedTransfer transfer, int port, bool https) =>
        Format(transfer, string.Create(CultureInfo.InvariantCulture, $"{(https ? "https" : "http")}://*:{port}"));

    /// <summary>The URL at <paramref name="server"/>, a base URL <c>scheme://host:port</c>.</summary>
    public static string Format(IssuedTransfer transfer, string server) =>
        string.Create(CultureInfo.InvariantCulture, $"{server}/guestFile?id={transfer.Id}&token={transfer.Token}");
}
