using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Identity;

namespace GuestOps.Tools;

/// <summary>Collects the guest facts reported in the handshake.</summary>
public static class OsFacts
{
    public static GuestOsFacts Collect(IUserDirectory users, uint workerUid)
    {
        return new GuestOsFacts
        {
            HostName = SafeHostName(),
            IpAddresses = Addresses(),
            OsFamily = OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsWindows() ? "windows" : "other",
            OsName = PrettyName() ?? RuntimeInformation.OSDescription,
            KernelVersion = KernelRelease() ?? RuntimeInformation.OSDescription,
            Architecture = RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
            WorkerUser = users.FindByUid(workerUid)?.Name ?? workerUid.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    private static string SafeHostName()
    {
        try
        {
            return Dns.GetHostName();
        }
        catch (SocketException)
        {
            return Environment.MachineName;
        }
    }

    private static List<string> Addresses()
    {
        var v4 = new List<string>();
        var v6 = new List<string>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
                {
                    continue;
                }

                foreach (var a in nic.GetIPProperties().UnicastAddresses)
                {
                    var ip = a.Address;
                    if (IPAddress.IsLoopback(ip) || ip.IsIPv6LinkLocal)
                    {
                        continue;
                    }

                    (ip.AddressFamily == AddressFamily.InterNetwork ? v4 : v6).Add(ip.ToString());
                }
            }
        }
        catch (NetworkInformationException)
        {
        }

        v4.AddRange(v6);
        return v4;
    }

    private static string? KernelRelease()
    {
        try
        {
            return OperatingSystem.IsLinux() ? "Linux " + File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? PrettyName()
    {
        foreach (var file in (ReadOnlySpan<string>)["/etc/os-release", "/usr/lib/os-release"])
        {
            try
            {
                foreach (var line in File.ReadLines(file))
                {
                    if (line.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))
                    {
                        return line["PRETTY_NAME=".Length..].Trim().Trim('"');
                    }
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return null;
    }
}
