using System.Net;
using System.Runtime.InteropServices;

namespace Cxas.IO
{
    /// <summary>
    /// TLS 1.2 for HttpClient on .NET Framework (Windows PowerShell 5.1). There HttpClient offers a server only the
    /// protocols in <see cref="ServicePointManager.SecurityProtocol"/>, which for programs built for older Framework
    /// versions (powershell.exe among them) is SSL 3 and TLS 1.0 unless the machine's registry says otherwise; a TLS
    /// 1.2-only server, most of them today, then drops the connection. So before Cxas's first request TLS 1.2 is added
    /// to what the process allows: nothing is taken away, and SystemDefault (the operating system decides) is left as
    /// it is. .NET (PowerShell 7) ignores the setting and uses the operating system's protocols: nothing is changed there.
    /// </summary>
    internal static class FrameworkTls
    {
        /// <summary>.NET Framework, or Mono (which follows the same setting); not .NET Core or .NET 5+.</summary>
        private static readonly bool UsesServicePointManager =
            RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal) ||
            RuntimeInformation.FrameworkDescription.StartsWith("Mono", StringComparison.Ordinal);

        /// <summary>Call before creating an HttpClient handler.</summary>
        public static void Ensure()
        {
            if (UsesServicePointManager) ServicePointManager.SecurityProtocol = With12(ServicePointManager.SecurityProtocol);
        }

        /// <summary>The protocols with TLS 1.2 added; SystemDefault (0) unchanged.</summary>
        internal static SecurityProtocolType With12(SecurityProtocolType current) =>
            current == 0 ? current : current | SecurityProtocolType.Tls12;
    }
}
