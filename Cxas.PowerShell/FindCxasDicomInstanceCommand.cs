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
    /// <example>
    /// <code>
    /// # Not run by the tests: needs a PACS.
    /// $pacs = 'https://pacs.example.org/dicom-web'
    /// Find-CxasDicomInstance -Uri $pacs -Credential (Get-Credential) -Modality CR, DX -StudyDate 20261101-20261130 |
    ///     Format-Table PatientId, StudyDate, Modality, SeriesDescription, Rows, Columns
    /// </code>
    /// <para>Lists last month's chest radiographs on the PACS, one row per instance.</para>
    /// </example>
    /// <example>
    /// <code>
    /// # Not run by the tests: needs a PACS.
    /// $pacs = 'https://pacs.example.org/dicom-web'; $cred = Get-Credential
    /// Find-CxasDicomInstance -Uri $pacs -Credential $cred -Modality CR, DX -StudyDate 20261101-20261130 |
    ///     Invoke-CxasSegmentation | Export-CxasMask -Format dicom-seg -DicomWebUri $pacs -Credential $cred |
    ///     Export-Csv stored.csv
    /// </code>
    /// <para>The PACS round trip: fetches each image, segments it and stores its DICOM-SEG next to the study; a rerun stores nothing new.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Find, "CxasDicomInstance")]
    [OutputType(typeof(DicomInstance))]
    public sealed class FindCxasDicomInstanceCommand : CxasCmdlet, IDynamicParameters
    {
        /// <summary>The DICOMweb root, e.g. https://pacs/dicom-web.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        public string Uri { get; set; } = "";

        /// <summary>Only instances of this study.</summary>
        [Parameter] public string? StudyInstanceUid { get; set; }
        /// <summary>Only instances of this series.</summary>
        [Parameter] public string? SeriesInstanceUid { get; set; }
        /// <summary>Only instances of this patient (the Patient ID as the server stores it).</summary>
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

        private readonly DicomWebParameters _connection = new DicomWebParameters();

        /// <summary>The DICOMweb connection parameters (-Credential, -Token, -SkipCertificateCheck, ...; see <see cref="DicomWebParameters"/>).</summary>
        public object GetDynamicParameters() => _connection;

        protected override void EndProcessing()
        {
            var client = _connection.Open(this, Uri);
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
                    DicomWebParameters.Flush(this);
                    found++;
                    progress.Step($"found {instance.SopInstanceUid}");
                    WriteObject(instance);
                }
            }
            catch (CxasException ex)
            {
                DicomWebParameters.Flush(this);
                ThrowTerminatingError(ToErrorRecord(ex, Uri));
            }
            DicomWebParameters.Flush(this);
            progress.Complete();
            WriteVerbose($"Found {found} instance(s).");
        }
    }
}
