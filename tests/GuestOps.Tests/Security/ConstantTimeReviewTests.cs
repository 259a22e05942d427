using System.Diagnostics;
using System.Text.RegularExpressions;
using GuestOps.Server.Sessions;

namespace GuestOps.Tests.Security;

/// <summary>
/// Issue 9's constant-time review, kept as tests so that it cannot silently regress: every place where a secret a
/// caller presents is compared with the one the server holds compares in constant time
/// (<c>CryptographicOperations.FixedTimeEquals</c>) or looks it up only through a keyed hash; no secret-named value is
/// compared with <c>==</c>, <c>Equals</c>, <c>SequenceEqual</c> or <c>CompareOrdinal</c> anywhere in src/; and a login
/// of an unknown user costs what a wrong password of a known one costs (docs/reliability.md lists each site).
/// </summary>
[TestClass]
public sealed partial class ConstantTimeReviewTests
{
    /// <summary>Where a presented secret meets the stored one, and how each must compare.</summary>
    private static readonly (string File, string Secret, string MustContain)[] Sites =
    [
        ("src/GuestOps.Server/Sessions/UserStore.cs", "vSphere password (PBKDF2-SHA512 hash)", "CryptographicOperations.FixedTimeEquals(actual, expected)"),
        ("src/GuestOps.Server/Guest/GuestFileTransfers.cs", "/guestFile URL token (HMAC-SHA256)", "CryptographicOperations.FixedTimeEquals(given[..length], Mac(found))"),
        ("src/GuestOps.Host/Enrollment/EnrollmentStore.cs", "enrollment token (SHA-256)", "CryptographicOperations.FixedTimeEquals(Convert.FromHexString(t.TokenHash), hash)"),
        ("src/GuestOps.Tools/Sspi/TicketStore.cs", "SSPI ticket (looked up by its SHA-256)", "SHA256.HashData(Encoding.UTF8.GetBytes(ticket))"),
        ("src/GuestOps.Tools/Auth/CredentialCache.cs", "cached guest password (looked up by HMAC-SHA256 under a per-process key)", "HMACSHA256.HashData(_key"),
    ];

    [TestMethod]
    public void EverySecretComparisonSite_UsesFixedTimeEqualsOrAKeyedHash()
    {
        foreach (var (file, secret, mustContain) in Sites)
        {
            var text = File.ReadAllText(Path.Combine(Root, file));
            StringAssert.Contains(text, mustContain, $"{file}: the {secret} must be compared as reviewed");
        }
    }

    [TestMethod]
    public void NoSecretNamedValue_IsComparedWithAnEarlyExitComparison()
    {
        var offending = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains("/obj/", StringComparison.Ordinal) || file.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }

            var lineNumber = 0;
            foreach (var line in File.ReadLines(file))
            {
                lineNumber++;
                if (SecretComparison().IsMatch(line) && !Harmless().IsMatch(line))
                {
                    offending.Add($"{Path.GetRelativePath(Root, file)}:{lineNumber}: {line.Trim()}");
                }
            }
        }

        Assert.AreEqual(0, offending.Count, "secrets compared with an early-exit comparison (use CryptographicOperations.FixedTimeEquals):" + Environment.NewLine + string.Join(Environment.NewLine, offending));
    }

    [TestMethod]
    public void UnknownUser_CostsWhatAWrongPasswordCosts()
    {
        var state = Directory.CreateTempSubdirectory("guestops-ct-");
        try
        {
            var users = new UserStore(state.FullName);
            users.Set("root", "Administrator", "Right-Pa55word");
            users.Verify("root", "warm-up");
            double Median(string user)
            {
                var times = new List<double>();
                for (var i = 0; i < 5; i++)
                {
                    var clock = Stopwatch.StartNew();
                    Assert.IsNull(users.Verify(user, "Wrong-Pa55word"));
                    times.Add(clock.Elapsed.TotalMilliseconds);
                }

                return times.Order().ElementAt(2);
            }

            var known = Median("root");
            var unknown = Median("no-such-user");
            Assert.IsTrue(unknown > known / 3 && unknown < known * 3, $"unknown user {unknown:0.0} ms, wrong password {known:0.0} ms: a login must not tell which names exist by its time");
        }
        finally
        {
            state.Delete(recursive: true);
        }
    }

    private static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "GuestOps.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("The repository root (GuestOps.sln) was not found.");
        }
    }

    // A secret-named identifier on either side of ==/!=, or inside Equals/SequenceEqual/CompareOrdinal.
    [GeneratedRegex(@"(\w*(?:[Pp]assword|[Tt]oken|[Tt]icket|[Ss]ecret|[Mm]ac|[Hh]ash|SessionKey)\w*(?:\.\w+)*\s*[!=]=\s*\w)|((?:\.Equals|SequenceEqual|CompareOrdinal)\s*\([^)]*(?:[Pp]assword|[Tt]oken\b|[Tt]icket|[Ss]ecret|\b[Mm]ac\b|[Hh]ash))")]
    private static partial Regex SecretComparison();

    // Not a secret's value: lengths, counts, kinds, JSON token types, null/zero checks.
    [GeneratedRegex(@"(Length|Count|Kind|TokenType|Type\b|==\s*null|!=\s*null|==\s*0\b|Status|Expired|Mechanism)")]
    private static partial Regex Harmless();
}
