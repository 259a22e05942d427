using Microsoft.CodeAnalysis;

namespace GuestOps.Generators;

/// <summary>The errors of the guest-method spine: each names the missing piece and where it goes.</summary>
internal static class Diagnostics
{
    private const string Category = "GuestOps.GuestMethods";

    public static readonly DiagnosticDescriptor NotPartial = Error(
        "GUESTOPS001", "Guest method type is not partial",
        "'{0}' must be partial: the guest-method generator adds its members");

    public static readonly DiagnosticDescriptor NotARequest = Error(
        "GUESTOPS002", "Guest method is not a channel request",
        "'{0}' defines guest method '{1}' but is not a concrete ChannelRequest");

    public static readonly DiagnosticDescriptor NoResult = Error(
        "GUESTOPS003", "Guest method has no result type",
        "'{0}' defines guest method '{1}' but does not implement IChannelRequest<TResult> exactly once");

    public static readonly DiagnosticDescriptor BadName = Error(
        "GUESTOPS004", "Guest method name is empty or repeated",
        "'{0}' defines guest method '{1}': the name is empty or already defined");

    public static readonly DiagnosticDescriptor NotRegistered = Error(
        "GUESTOPS005", "Guest method is not registered for JSON under its name",
        "Guest method '{0}' needs [JsonDerivedType(typeof({1}), \"{0}\")] on ChannelRequest (found: {2})");

    public static readonly DiagnosticDescriptor ResultNotRegistered = Error(
        "GUESTOPS006", "Guest method result is not registered for JSON",
        "Guest method '{0}' returns '{1}', which needs a [JsonDerivedType] on ChannelResult");

    public static readonly DiagnosticDescriptor RegisteredWithoutDefinition = Error(
        "GUESTOPS007", "Channel request without a guest method definition",
        "ChannelRequest lists '{0}' but '{0}' has no [GuestMethod]");

    public static readonly DiagnosticDescriptor NoHandler = Error(
        "GUESTOPS010", "Guest method has no worker handler",
        "Guest method '{0}' has no handler in '{1}': add ValueTask<ChannelResponse> {2}(uint id, {3} request, IncomingCall? call, CancellationToken cancellationToken)");

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true);
}
