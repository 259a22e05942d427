using System.ServiceModel;
using System.Xml;
using GuestOps.Samples;

// dotnet GuestOps.Samples.dll SAMPLE [options]; a vim fault ends it with exit code 1 and one line naming the fault.
var sample = args.Length > 0 ? Samples.All.FirstOrDefault(s => s.Name.Equals(args[0], StringComparison.OrdinalIgnoreCase)) : null;
if (sample is null)
{
    Console.Error.WriteLine($"usage: GuestOps.Samples {string.Join("|", Samples.All.Select(s => s.Name))} [options] (--help for a sample's options)");
    return 2;
}

try
{
    var options = SampleOptions.Parse(args[1..], sample.Usage);
    if (options.HelpRequested)
    {
        Console.Write(options.Usage);
        return 0;
    }

    return await sample.RunAsync(options);
}
catch (SampleUsageException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.Write(sample.Usage + SampleOptions.CommonUsage);
    return 2;
}
catch (FaultException e)
{
    Console.Error.WriteLine($"error: {FaultName(e)}: {e.Message}");
    return 1;
}
catch (Exception e) when (e is CommunicationException or TimeoutException or HttpRequestException or IOException or InvalidOperationException)
{
    Console.Error.WriteLine($"error: {e.GetType().Name}: {e.Message}");
    return 1;
}

// The concrete vim fault: the typed detail's class (XmlSerializer honours xsi:type), else the detail's xsi:type.
static string FaultName(FaultException fault)
{
    var detail = fault.GetType().GetProperty("Detail")?.GetValue(fault);
    if (detail is not null)
    {
        return detail.GetType().Name;
    }

    var message = fault.CreateMessageFault();
    if (!message.HasDetail)
    {
        return "SOAP fault";
    }

    using var reader = message.GetReaderAtDetailContents();
    var type = reader.GetAttribute("type", "http://www.w3.org/2001/XMLSchema-instance");
    return type is not null ? type[(type.IndexOf(':') + 1)..] : reader.LocalName.EndsWith("Fault", StringComparison.Ordinal) ? reader.LocalName[..^5] : reader.LocalName;
}
