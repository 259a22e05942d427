// Sandboxed VMs, /proc and unix file modes: this program runs on Linux only (Program.cs checks it first).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
