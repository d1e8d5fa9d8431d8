using Cxas.Models;

namespace Cxas.PowerShell;

/// <summary>Catalog helpers shared by the model cmdlets (and by -Model on the others).</summary>
public static class CxasModelCatalog
{
    /// <summary>The module's own models folder: models/ beside the module manifest (or this assembly).</summary>
    public static string ModuleModelsDirectory(PSCmdlet cmdlet)
    {
        var moduleBase = cmdlet.MyInvocation?.MyCommand?.Module?.ModuleBase;
        if (string.IsNullOrEmpty(moduleBase))
            moduleBase = Path.GetDirectoryName(typeof(CxasModelCatalog).Assembly.Location);
        return Path.Combine(moduleBase ?? ".", "models");
    }

    public static ModelCatalog ForCmdlet(PSCmdlet cmdlet) => ModelCatalog.FromEnvironment(ModuleModelsDirectory(cmdlet));

    /// <summary>Relative paths are taken relative to PowerShell's current location, not the process's.</summary>
    public static string ResolvePathArgument(PSCmdlet cmdlet, string nameOrPath)
    {
        if (nameOrPath.IndexOfAny(new[] { '/', '\\' }) < 0 && !nameOrPath.StartsWith(".", StringComparison.Ordinal)
            && !nameOrPath.StartsWith("~", StringComparison.Ordinal))
            return nameOrPath;
        return cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(nameOrPath);
    }

    /// <summary>One model folder as Get-CxasModel shows it, its scope taken from the catalog of this session.</summary>
    public static PSObject Describe(PSCmdlet cmdlet, string directory, string root)
    {
        return ToPSObject(ModelCatalog.Describe(directory, root, ForCmdlet(cmdlet).ScopeOf(root), isDefault: false));
    }

    /// <summary>
    /// An entry whose properties are flat values, each once, so Export-Csv gives one column per fact (Cxas.Format.ps1xml
    /// has its table; the list view shows Name, IsDefault, Scope, LabelCount, SizeMB, Sha256, Source, Licence,
    /// Directory); the manifest is reachable with the GetManifest() method.
    /// </summary>
    public static PSObject ToPSObject(ModelCatalogEntry entry)
    {
        var ps = new PSObject(entry);
        ps.TypeNames.Insert(0, "Cxas.ModelCatalogEntry");
        var display = new PSPropertySet("DefaultDisplayPropertySet",
            new[] { nameof(ModelCatalogEntry.Name), nameof(ModelCatalogEntry.IsDefault), nameof(ModelCatalogEntry.Scope), nameof(ModelCatalogEntry.LabelCount), nameof(ModelCatalogEntry.SizeMB),
                    nameof(ModelCatalogEntry.Sha256), nameof(ModelCatalogEntry.Source), nameof(ModelCatalogEntry.Licence), nameof(ModelCatalogEntry.Directory) });
        ps.Members.Add(new PSMemberSet("PSStandardMembers", new PSMemberInfo[] { display }));
        return ps;
    }
}
