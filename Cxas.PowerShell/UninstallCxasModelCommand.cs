using Cxas.Models.Install;

namespace Cxas.PowerShell
{
    /// <summary>
    /// <para type="synopsis">Removes an installed model (one installed with Install-CxasModel or Import-CxasModel).</para>
    /// <para type="description">Looks the model up by name in the per-user folders, then the machine-wide folder (or only
    /// in -Scope), and removes its folder. Only a folder holding model.json directly inside one of those models
    /// folders is ever removed; models that ship with the module cannot be.</para>
    /// </summary>
    /// <example>
    /// <code>
    /// # Not run by the tests: needs an installed model.
    /// Uninstall-CxasModel UNet_ResNet50_default
    /// </code>
    /// <para>Removes the reference model from the per-user folder (or the machine-wide one).</para>
    /// </example>
    /// <example>
    /// <code>
    /// Get-CxasModel | Where-Object Scope -eq CurrentUser | Uninstall-CxasModel -WhatIf
    /// </code>
    /// <para>Shows which per-user models would be removed, without removing them.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Uninstall, "CxasModel", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(void))]
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
}
