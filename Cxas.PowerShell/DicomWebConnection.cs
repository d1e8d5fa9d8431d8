using System;
using System.Management.Automation;
using System.Net;
using System.Security;
using Cxas.DicomWeb;

namespace Cxas.PowerShell
{
    /// <summary>The connection parameters the DICOMweb cmdlets share, turned into a <see cref="DicomWebClient"/>.</summary>
    internal static class DicomWebConnection
    {
        /// <summary>
        /// A client for <paramref name="uri"/> with Basic (<paramref name="credential"/>) or Bearer (<paramref name="token"/>)
        /// authorisation; retries and requests are logged to the verbose stream (never the credentials). Problems are
        /// terminating errors.
        /// </summary>
        public static DicomWebClient Open(PSCmdlet cmdlet, string uri, PSCredential? credential, SecureString? token, bool skipCertificateCheck,
            bool allowUnencryptedAuthentication, int maximumRetryCount, int timeoutSec)
        {
            try
            {
                if (credential != null && token != null)
                    throw new CxasException(CxasErrorKind.InvalidArgument, "Give -Credential or -Token, not both.");
                if (!Uri.TryCreate(uri, UriKind.Absolute, out var root))
                    throw new CxasException(CxasErrorKind.InvalidArgument, $"'{uri}' is not an absolute http or https URL.");
                DicomWebCredential? auth = null;
                if (credential != null)
                {
                    var network = credential.GetNetworkCredential();
                    auth = DicomWebCredential.Basic(credential.UserName.TrimStart('\\'), network.Password);
                }
                else if (token != null)
                {
                    auth = DicomWebCredential.Bearer(new NetworkCredential("", token).Password);
                }
                var options = new DicomWebOptions
                {
                    SkipCertificateCheck = skipCertificateCheck,
                    AllowUnencryptedAuthentication = allowUnencryptedAuthentication,
                    MaxAttempts = Math.Max(0, maximumRetryCount) + 1,
                    Timeout = TimeSpan.FromSeconds(timeoutSec > 0 ? timeoutSec : 120),
                    // Called from the queue's threads too: the messages are queued and written by the pipeline thread.
                    Log = message => Messages.Enqueue(message),
                };
                if (skipCertificateCheck) cmdlet.WriteWarning("-SkipCertificateCheck: the server's TLS certificate is not verified.");
                return new DicomWebClient(root, auth, options);
            }
            catch (CxasException ex)
            {
                cmdlet.ThrowTerminatingError(CxasCmdlet.ToErrorRecord(ex, uri));
                throw; // not reached
            }
        }

        private static readonly System.Collections.Concurrent.ConcurrentQueue<string> Messages = new System.Collections.Concurrent.ConcurrentQueue<string>();

        /// <summary>Writes the clients' queued messages (retries, fallbacks) as verbose output; call it on the pipeline thread.</summary>
        public static void Flush(Cmdlet cmdlet)
        {
            while (Messages.TryDequeue(out var message)) cmdlet.WriteVerbose(message);
        }
    }
}
