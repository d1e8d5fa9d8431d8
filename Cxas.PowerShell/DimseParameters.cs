using Cxas.Dimse;

namespace Cxas.PowerShell;

/// <summary>
/// The DIMSE connection parameters (-ComputerName, -Port, -CalledAETitle, -CallingAETitle), declared once and returned
/// from <c>GetDynamicParameters</c> like <see cref="DicomWebParameters"/>, which extends them: so Find-CxasDicomInstance
/// and Export-CxasMask reach a PACS by DICOMweb or by DIMSE, and Test-CxasDicomNode takes the same four.
/// <see cref="OpenDimse"/> turns them into a <see cref="DimseClient"/>.
/// </summary>
public class DimseParameters
{
    /// <summary>The host name or address of a DICOM node (DIMSE): use it instead of a DICOMweb -Uri.</summary>
    [Parameter] public string? ComputerName { get; set; }

    /// <summary>The DICOM node's TCP port (default 104).</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int Port { get; set; } = 104;

    /// <summary>The DICOM node's AE title (the called AE title), as configured on it.</summary>
    [Parameter] public string? CalledAETitle { get; set; }

    /// <summary>Cxas' AE title towards the node (the calling AE title; default CXAS): the node must know it.</summary>
    [Parameter] public string CallingAETitle { get; set; } = "CXAS";

    /// <summary>DICOM TLS to the node (-ComputerName): the association runs over TLS and the node's certificate is verified.</summary>
    [Parameter] public SwitchParameter UseTls { get; set; }

    /// <summary>Accept any TLS certificate from the server or node (for test servers only; certificates are verified by default).</summary>
    [Parameter] public SwitchParameter SkipCertificateCheck { get; set; }

    /// <summary>Whether -ComputerName was given (DIMSE) rather than a DICOMweb address.</summary>
    internal bool UsesDimse => !string.IsNullOrEmpty(ComputerName);

    /// <summary>A client for the node; a missing called AE title or an invalid AE title is a terminating error.</summary>
    internal DimseClient OpenDimse(PSCmdlet cmdlet, TimeSpan? timeout = null)
    {
        try
        {
            if (string.IsNullOrEmpty(CalledAETitle))
                throw new CxasException(CxasErrorKind.InvalidArgument, $"-ComputerName {ComputerName} needs -CalledAETitle: the node's AE title.");
            var peer = new DimsePeer
            {
                Host = ComputerName!, Port = Port, CalledAe = CalledAETitle!, CallingAe = CallingAETitle, UseTls = UseTls, SkipCertificateCheck = SkipCertificateCheck,
            };
            if (UseTls && SkipCertificateCheck) cmdlet.WriteWarning("-SkipCertificateCheck: the node's TLS certificate is not verified.");
            if (timeout.HasValue) peer.ArtimTimeout = peer.IdleTimeout = timeout.Value;
            return new DimseClient(peer);
        }
        catch (CxasException ex)
        {
            cmdlet.ThrowTerminatingError(CxasCmdlet.ToErrorRecord(ex, ComputerName));
            throw; // not reached
        }
    }
}
