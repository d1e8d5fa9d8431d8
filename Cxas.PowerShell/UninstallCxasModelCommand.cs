using Cxas.Provisioning;

namespace Cxas.PowerShell;

/// <include file="Help/Text/Uninstall-CxasModel.xml" path="doc/cmdlet/*" />
[Cmdlet(VerbsLifecycle.Uninstall, "CxasModel", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium), OutputType(typeof(void))]
public sealed class UninstallCxasModelCommand : CxasCmdlet
{
    /// <summary>The model's name (as Get-CxasModel lists it).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelCompleter))]
    public string Name { get; set; } = "";

    /// <summary>Only look in this scope (default: CurrentUser first, then AllUsers).</summary>
    [Parameter]
    public ModelScope? Scope { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            var catalog = CxasModelCatalog.ForCmdlet(this);
            var directory = ModelInstaller.FindInstalled(Name, catalog, Scope);
            if (!ShouldProcess(directory, $"Remove model '{Name}'")) return;
            ModelInstaller.Remove(directory, catalog);
            WriteVerbose($"Removed '{directory}'.");
        }
        catch (CxasException ex)
        {
            WriteError(ToErrorRecord(ex, ex.FilePath ?? Name));
        }
    }
}
