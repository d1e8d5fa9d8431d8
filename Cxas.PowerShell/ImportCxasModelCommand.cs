using Cxas.Import;
using Cxas.Models;

namespace Cxas.PowerShell;

/// <include file="Help/Text/Import-CxasModel.xml" path="doc/cmdlet/*" />
[Cmdlet(VerbsData.Import, "CxasModel", SupportsShouldProcess = true), OutputType(typeof(ModelCatalogEntry))]
public sealed class ImportCxasModelCommand : ModelWriteCmdlet
{
    private volatile bool _stopping;

    /// <summary>The checkpoint file (torch.save zip format), e.g. UNet_ResNet50_default.pth.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "LiteralPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Model (and folder) name; default UNet_ResNet50_default for the reference, else the file name.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Folder to create the model folder in; default the first $env:CXAS_MODEL_PATH folder, else ~/.cxas/models.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    protected override void StopProcessing() => _stopping = true;

    protected override void ProcessRecord()
    {
        string source = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        try
        {
            var root = Destination != null
                ? SessionState.Path.GetUnresolvedProviderPathFromPSPath(Destination)
                : ModelCatalog.DefaultImportRoot;

            // Core names the folder (the checkpoint decides unless -Name is given) and opens the checkpoint once; the
            // only folder this run may create or replace is <root>/<valid name>.
            var options = PrecisionImportOptions();
            options.Name = Name;
            var progress = new ProgressTracker(this, "Import-CxasModel");
            var result = ModelImporter.ImportInto(source, root, Force.IsPresent, options,
                (target, name) => ShouldProcess(target, $"Import checkpoint '{source}' as model '{name}'"),
                p =>
                {
                    if (_stopping) throw new PipelineStoppedException();
                    progress.Stage(p.Stage, p.Detail, p.Percent);
                });
            if (result == null) return;
            progress.Complete();
            WriteVerbose($"Imported {result.Parameters:N0} parameters ({result.OnnxBytes / 1e6:F1} MB ONNX) in {result.Elapsed.TotalSeconds:F1} s; " +
                         $"source SHA-256 {result.SourceSha256}.");
            ReportPrecision(result.Precision);
            WriteObject(CxasModelCatalog.Describe(this, result.Directory, root));
        }
        catch (CxasException ex)
        {
            WriteError(ToErrorRecord(ex, ex.FilePath ?? source));
        }
    }
}
