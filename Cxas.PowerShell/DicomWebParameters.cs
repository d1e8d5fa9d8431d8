using System.Net;
using System.Security;
using Cxas.DicomWeb;

namespace Cxas.PowerShell;

/// <summary>
/// The connection parameters of the DICOMweb cmdlets (Find-CxasDicomInstance, Export-CxasMask -DicomWebUri), declared
/// once: each of those cmdlets returns an instance from <c>IDynamicParameters.GetDynamicParameters</c>, so PowerShell
/// binds, completes and documents them like the cmdlet's own. <see cref="Open"/> turns them into a <see cref="DicomWebClient"/>.
/// They extend the DIMSE ones (<see cref="DimseParameters"/>), so the same cmdlets reach a DICOM node by -ComputerName.
/// </summary>
public sealed class DicomWebParameters : DimseParameters
{
    /// <summary>User name and password for the DICOMweb server (HTTP Basic); refused over plain http unless -AllowUnencryptedAuthentication.</summary>
    [Parameter] [Credential] public PSCredential? Credential { get; set; }

    /// <summary>A bearer token for the DICOMweb server, as a SecureString; never shown in output or errors.</summary>
    [Parameter] public SecureString? Token { get; set; }

    /// <summary>Allow -Credential or -Token over plain http (as Invoke-RestMethod does).</summary>
    [Parameter] public SwitchParameter AllowUnencryptedAuthentication { get; set; }

    /// <summary>Retries of a request after 429, 502, 503, 504, a dropped connection or a timeout (exponential backoff, honouring Retry-After; default 3).</summary>
    [Parameter]
    [ValidateRange(0, 10)]
    public int MaximumRetryCount { get; set; } = 3;

    /// <summary>Seconds a request may take before it is abandoned (and retried; default 120).</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 120;

    /// <summary>
    /// A client for <paramref name="uri"/> with Basic (-Credential) or Bearer (-Token) authorisation; retries and
    /// requests are logged to the verbose stream of the cmdlet that uses it (never the credentials). Problems are terminating errors.
    /// </summary>
    internal DicomWebClient Open(PSCmdlet cmdlet, string uri)
    {
        try
        {
            if (Credential != null && Token != null)
                throw new CxasException(CxasErrorKind.InvalidArgument, "Give -Credential or -Token, not both.");
            if (!Uri.TryCreate(uri, UriKind.Absolute, out var root))
                throw new CxasException(CxasErrorKind.InvalidArgument, $"'{uri}' is not an absolute http or https URL.");
            DicomWebCredential? auth = null;
            if (Credential != null)
                auth = DicomWebCredential.Basic(Credential.UserName.TrimStart('\\'), Credential.GetNetworkCredential().Password);
            else if (Token != null)
                auth = DicomWebCredential.Bearer(new NetworkCredential("", Token).Password);
            var options = new DicomWebOptions
            {
                SkipCertificateCheck = SkipCertificateCheck,
                AllowUnencryptedAuthentication = AllowUnencryptedAuthentication,
                MaxAttempts = Math.Max(0, MaximumRetryCount) + 1,
                Timeout = TimeSpan.FromSeconds(TimeoutSec > 0 ? TimeoutSec : 120),
                // No Log: the client queues its messages itself (requests run on the queue's threads too), and the
                // cmdlet that opened or was handed it writes them on its pipeline thread (CxasCmdlet.FlushDicomWebMessages).
            };
            if (SkipCertificateCheck) cmdlet.WriteWarning("-SkipCertificateCheck: the server's TLS certificate is not verified.");
            var client = new DicomWebClient(root, auth, options);
            (cmdlet as CxasCmdlet)?.WatchDicomWeb(client);
            return client;
        }
        catch (CxasException ex)
        {
            cmdlet.ThrowTerminatingError(CxasCmdlet.ToErrorRecord(ex, uri));
            throw; // not reached
        }
    }
}
