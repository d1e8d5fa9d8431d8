using System;
using System.Management.Automation;
using System.Security;
using Cxas.DicomWeb;

namespace Cxas.PowerShell
{
    /// <summary>
    /// <para type="synopsis">Finds image instances on a DICOMweb server (QIDO-RS).</para>
    /// <para type="description">Searches instances by study, series, patient, modality and study date, page by page, and emits
    /// one flat Cxas.DicomWeb.DicomInstance per instance; pipe them to Invoke-CxasSegmentation. Instances that are not images
    /// (SR, PR, SEG...) are skipped unless -IncludeNonImage.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Find, "CxasDicomInstance")]
    [OutputType(typeof(DicomInstance))]
    public sealed class FindCxasDicomInstanceCommand : CxasCmdlet
    {
        /// <summary>The DICOMweb root, e.g. https://pacs/dicom-web.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        public string Uri { get; set; } = "";

        [Parameter] public string? StudyInstanceUid { get; set; }
        [Parameter] public string? SeriesInstanceUid { get; set; }
        [Parameter] public string? PatientId { get; set; }

        /// <summary>Modalities (e.g. CR, DX); instances of any of them.</summary>
        [Parameter] public string[]? Modality { get; set; }

        /// <summary>yyyyMMdd or yyyyMMdd-yyyyMMdd.</summary>
        [Parameter]
        [ValidatePattern(@"^\d{8}(-\d{8})?$")]
        public string? StudyDate { get; set; }

        /// <summary>Most instances to emit (default: all).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Limit { get; set; }

        /// <summary>Also emit instances that are not images (structured reports, presentation states, segmentations...).</summary>
        [Parameter] public SwitchParameter IncludeNonImage { get; set; }

        [Parameter] [Credential] public PSCredential? Credential { get; set; }
        [Parameter] public SecureString? Token { get; set; }
        [Parameter] public SwitchParameter SkipCertificateCheck { get; set; }
        [Parameter] public SwitchParameter AllowUnencryptedAuthentication { get; set; }

        /// <summary>Retries for 429, 502, 503, 504, dropped connections and timeouts (exponential backoff, Retry-After honoured).</summary>
        [Parameter]
        [ValidateRange(0, 10)]
        public int MaximumRetryCount { get; set; } = 3;

        [Parameter]
        [ValidateRange(1, 3600)]
        public int TimeoutSec { get; set; } = 120;

        protected override void EndProcessing()
        {
            var client = DicomWebConnection.Open(this, Uri, Credential, Token, SkipCertificateCheck, AllowUnencryptedAuthentication, MaximumRetryCount, TimeoutSec);
            var query = new DicomWebQuery
            {
                StudyInstanceUid = StudyInstanceUid, SeriesInstanceUid = SeriesInstanceUid, PatientId = PatientId,
                Modality = Modality, StudyDate = StudyDate, Limit = Limit, IncludeNonImage = IncludeNonImage,
            };
            WriteVerbose($"Searching {client.Root} for instances.");
            var progress = new ProgressTracker(this, "Find-CxasDicomInstance");
            int found = 0;
            try
            {
                foreach (var instance in client.Search(query))
                {
                    DicomWebConnection.Flush(this);
                    found++;
                    progress.Step($"found {instance.SopInstanceUid}");
                    WriteObject(instance);
                }
            }
            catch (CxasException ex)
            {
                DicomWebConnection.Flush(this);
                ThrowTerminatingError(ToErrorRecord(ex, Uri));
            }
            DicomWebConnection.Flush(this);
            progress.Complete();
            WriteVerbose($"Found {found} instance(s).");
        }
    }
}
