using Cxas.Models;

namespace Cxas.PowerShell;

/// <include file="Help/Text/Get-CxasModel.xml" path="doc/cmdlet/*" />
[Cmdlet(VerbsCommon.Get, "CxasModel"), OutputType(typeof(ModelCatalogEntry))]
public sealed class GetCxasModelCommand : CxasCmdlet
{
    /// <summary>Model names (wildcards allowed) or model folder paths.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelCompleter))]
    public string[]? Name { get; set; }

    private ModelCatalog? _catalog;
    private IReadOnlyList<ModelCatalogEntry>? _entries;

    protected override void BeginProcessing()
    {
        _catalog = CxasModelCatalog.ForCmdlet(this);
        WriteVerbose("Model roots: " + string.Join(", ", _catalog.Roots));
    }

    protected override void ProcessRecord()
    {
        var catalog = _catalog!;
        _entries ??= catalog.List();
        if (Name == null || Name.Length == 0)
        {
            foreach (var entry in _entries) WriteObject(CxasModelCatalog.ToPSObject(entry));
            return;
        }
        foreach (var name in Name)
        {
            if (WildcardPattern.ContainsWildcardCharacters(name))
            {
                var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                foreach (var entry in _entries.Where(e => pattern.IsMatch(e.Name) || pattern.IsMatch(Path.GetFileName(e.Directory))))
                    WriteObject(CxasModelCatalog.ToPSObject(entry));
                continue;
            }
            try
            {
                var dir = catalog.ResolveDirectory(CxasModelCatalog.ResolvePathArgument(this, name));
                var entry = _entries.FirstOrDefault(e => string.Equals(e.Directory, dir, StringComparison.Ordinal));
                WriteObject(entry != null ? CxasModelCatalog.ToPSObject(entry) : CxasModelCatalog.Describe(this, dir, Path.GetDirectoryName(dir) ?? dir));
            }
            catch (CxasException ex)
            {
                WriteError(ToErrorRecord(ex, ex.FilePath ?? name));
            }
        }
    }
}
