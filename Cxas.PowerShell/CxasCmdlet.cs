using System.Diagnostics;
using Cxas.Imaging;
using Cxas.Features;
using Cxas.Models;

namespace Cxas.PowerShell;

/// <summary>Shared plumbing for Cxas cmdlets: path resolution, model lookup, errors, progress.</summary>
public abstract class CxasCmdlet : PSCmdlet
{
    /// <summary>Resolves a model name or folder through the model catalog (see Get-CxasModel).</summary>
    internal CxasModel ResolveModel(string? model)
    {
        var resolved = CxasModelCatalog.ForCmdlet(this).Resolve(string.IsNullOrWhiteSpace(model) ? null : CxasModelCatalog.ResolvePathArgument(this, model!));
        // An int8 model whose check does not carry over to this CPU (8-bit weights, no VNNI here) is used with a warning.
        var note = Cxas.Precision.Int8Portability.Note(resolved.Manifest, CpuClass.Current);
        if (note != null) WriteWarning(note);
        return resolved;
    }

    /// <summary>Writes a non-terminating error for one input; with -ErrorAction Stop it stops the pipeline.</summary>
    internal void WriteFileError(Exception ex, string? target)
    {
        FileErrors++;
        WriteError(ToErrorRecord(ex, target));
    }

    /// <summary>How many per-file errors this invocation has written (for the run summary).</summary>
    internal int FileErrors { get; private set; }

    public static ErrorRecord ToErrorRecord(Exception ex, object? target)
    {
        if (ex is AggregateException agg && agg.InnerExceptions.Count == 1) ex = agg.InnerExceptions[0];
        if (ex is CxasException cx)
        {
            // Core's remedy in the cmdlets' words: the error's exception says it, Core's own stays inside it.
            var advice = Advice(cx.Remedy);
            if (advice != null) cx = new CxasException(cx.Kind, cx.Message.TrimEnd('.') + " (" + advice + ").", cx.FilePath, cx);
            return new ErrorRecord(cx, cx.ErrorId, Category(cx.Kind), target ?? cx.FilePath);
        }
        if (ex is IOException || ex is UnauthorizedAccessException)
            return new ErrorRecord(ex, "Cxas." + CxasErrorKind.WriteFailed, ErrorCategory.WriteError, target);
        return new ErrorRecord(ex, "Cxas.Unexpected", ErrorCategory.NotSpecified, target);
    }

    /// <summary>A Core remedy in the cmdlets' terms.</summary>
    internal static string? Advice(CxasRemedy remedy)
    {
        switch (remedy)
        {
            case CxasRemedy.Overwrite: return "use -Force to replace it";
            case CxasRemedy.NameClasses: return "name them with -Label";
            case CxasRemedy.NameModel: return "name a model with -Model, or install one with Install-CxasModel; Get-CxasModel lists them";
            case CxasRemedy.UseLocalFile: return "for a checkpoint already downloaded, use -Path";
            case CxasRemedy.UseProxyOrLocalFile: return "behind a proxy? see -Proxy; offline? download the checkpoint elsewhere and use -Path";
            case CxasRemedy.NameSourceOrLocalFile: return "give -Source <URL> or -Path <file>";
            case CxasRemedy.WritableScope: return "for -Scope AllUsers run as administrator or root, or use -Scope CurrentUser";
            case CxasRemedy.SeparateCredentials: return "give them with -Credential or -Token";
            case CxasRemedy.AllowUnencrypted: return "use https, or -AllowUnencryptedAuthentication if the connection is otherwise protected (e.g. loopback)";
            case CxasRemedy.TrustCertificate: return "install its CA, or use -SkipCertificateCheck for a test server";
            case CxasRemedy.NameNewModel: return "give the model a name with -Name";
            case CxasRemedy.InstallReferenceModel:
                return "install it once with Install-CxasModel -Name UNet_ResNet50_default -AcceptLicense; a checkpoint already downloaded installs with -Path <file> -AcceptLicense";
            default: return null;
        }
    }

    internal static ErrorCategory Category(CxasErrorKind kind)
    {
        switch (kind)
        {
            case CxasErrorKind.InvalidData: return ErrorCategory.InvalidData;
            case CxasErrorKind.NotSupported: return ErrorCategory.NotImplemented;
            case CxasErrorKind.LimitExceeded: return ErrorCategory.LimitsExceeded;
            case CxasErrorKind.NotFound: return ErrorCategory.ObjectNotFound;
            case CxasErrorKind.AlreadyExists: return ErrorCategory.ResourceExists;
            case CxasErrorKind.Device: return ErrorCategory.DeviceError;
            case CxasErrorKind.InvalidModel: return ErrorCategory.InvalidData;
            case CxasErrorKind.WriteFailed: return ErrorCategory.WriteError;
            case CxasErrorKind.InvalidArgument: return ErrorCategory.InvalidArgument;
            case CxasErrorKind.Network: return ErrorCategory.ConnectionError;
            case CxasErrorKind.Unauthorized: return ErrorCategory.PermissionDenied;
            default: return ErrorCategory.NotSpecified;
        }
    }

    /// <summary>
    /// Expands -Path (wildcards) or -LiteralPath into input files, lazily: folders stream out their image files as
    /// the <see cref="FolderScanner"/> finds them (see it for links, hidden files and the order). A path that matches
    /// nothing is an error (when the name exists literally, the message points to -LiteralPath); the rest continue.
    /// </summary>
    protected IEnumerable<InputFile> ExpandInputs(string[]? paths, bool literal, bool recurse, bool followLinks = false)
    {
        if (paths == null) yield break;
        foreach (var p in paths)
        {
            List<string> resolved = new List<string>();
            try
            {
                if (literal)
                {
                    resolved.Add(GetUnresolvedProviderPathFromPSPath(p));
                }
                else
                {
                    resolved.AddRange(GetResolvedProviderPathFromPSPath(p, out var provider));
                    if (provider.Name != "FileSystem")
                        throw new CxasException(CxasErrorKind.InvalidArgument, $"'{p}' is not a file system path.", p);
                    if (resolved.Count == 0) throw new ItemNotFoundException(p);
                }
            }
            catch (ItemNotFoundException ex)
            {
                WriteFileError(new CxasException(CxasErrorKind.NotFound, NotFoundMessage(p, literal), p, ex), p);
                continue;
            }
            catch (Exception ex) when (ex is CxasException || ex is PSArgumentException || ex is NotSupportedException || ex is ProviderNotFoundException || ex is System.Management.Automation.DriveNotFoundException)
            {
                WriteFileError(ex is CxasException ? ex : new CxasException(CxasErrorKind.InvalidArgument, ex.Message, p, ex), p);
                continue;
            }

            foreach (var path in resolved)
            {
                if (Directory.Exists(path))
                {
                    var scanner = new FolderScanner
                    {
                        Recurse = recurse, FollowLinks = followLinks, Note = WriteVerbose,
                        LinkSkipped = link => WriteVerbose($"Not following the folder link '{link}' (use -FollowSymlink to follow links)."),
                    };
                    bool any = false;
                    foreach (var f in scanner.Scan(path))
                    {
                        any = true;
                        yield return f;
                    }
                    if (!any)
                        WriteWarning($"No image files found in '{path}'{(recurse ? "" : " (use -Recurse to search subfolders)")}.");
                }
                else if (File.Exists(path))
                {
                    yield return new InputFile(path);
                }
                else
                {
                    WriteFileError(new CxasException(CxasErrorKind.NotFound, $"Cannot find '{path}': it does not exist.", path), path);
                }
            }
        }
    }

    /// <summary>Why a path matched nothing; a wildcard pattern that names an existing file literally points to -LiteralPath.</summary>
    private string NotFoundMessage(string p, bool literal)
    {
        if (!literal && WildcardPattern.ContainsWildcardCharacters(p))
        {
            string? asLiteral = null;
            try { asLiteral = GetUnresolvedProviderPathFromPSPath(p); } catch (Exception) { }
            if (asLiteral != null && (File.Exists(asLiteral) || Directory.Exists(asLiteral)))
                return $"'{p}' matches nothing as a wildcard pattern, but '{asLiteral}' exists: use -LiteralPath for names with [ ] * ?.";
            return $"Cannot find '{p}': the pattern matches no file.";
        }
        return $"Cannot find '{p}': it does not exist.";
    }
}
