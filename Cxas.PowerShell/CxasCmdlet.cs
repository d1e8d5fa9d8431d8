using System.Collections;
using System.Diagnostics;
using Cxas.Imaging;
using Cxas.Features;
using Cxas.Models;

namespace Cxas.PowerShell;

/// <summary>Shared plumbing for Cxas cmdlets: path resolution, model lookup, errors, progress.</summary>
public abstract class CxasCmdlet : PSCmdlet
{
    /// <summary>
    /// The configuration the cmdlets read, decode and write with: the built-in one. It is read-only, so nothing a
    /// script or another runspace does changes what a cmdlet accepts; a program that needs formats of its own builds
    /// a configuration from Cxas.Core directly.
    /// </summary>
    internal static Cxas.Runs.CxasConfiguration Configuration => Cxas.Runs.CxasConfiguration.Default;

    /// <summary>The DICOMweb clients whose messages this cmdlet writes: the ones it opened and those of the instances piped to it.</summary>
    private readonly List<Cxas.DicomWeb.DicomWebClient> _dicomWebClients = new List<Cxas.DicomWeb.DicomWebClient>();

    /// <summary>Writes <paramref name="client"/>'s messages to this cmdlet's verbose stream from now on (see <see cref="FlushDicomWebMessages"/>).</summary>
    internal void WatchDicomWeb(Cxas.DicomWeb.DicomWebClient? client)
    {
        if (client != null && !_dicomWebClients.Contains(client)) _dicomWebClients.Add(client);
    }

    /// <summary>Writes the queued messages (requests, retries, fallbacks) of the watched clients as verbose output; on the pipeline thread.</summary>
    internal void FlushDicomWebMessages()
    {
        foreach (var client in _dicomWebClients)
            foreach (var message in client.TakeMessages()) WriteVerbose(message);
    }

    /// <summary>Resolves a model name or folder through the model catalog (see Get-CxasModel).</summary>
    internal CxasModel ResolveModel(string? model)
    {
        var resolved = CxasModelCatalog.ForCmdlet(this).Resolve(string.IsNullOrWhiteSpace(model) ? null : CxasModelCatalog.ResolvePathArgument(this, model!));
        // An int8 model whose check does not carry over to this CPU (8-bit weights, no VNNI here) is used with a warning.
        var note = Int8Portability.Note(resolved.Manifest, CpuClass.Current);
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

    /// <summary>How many folder links -Recurse met and did not follow (for the run summary).</summary>
    internal int LinksNotFollowed { get; private set; }

    public static ErrorRecord ToErrorRecord(Exception ex, object? target)
    {
        if (ex is AggregateException agg && agg.InnerExceptions.Count == 1) ex = agg.InnerExceptions[0];
        if (ex is CxasException cx)
        {
            // The message says what went wrong and stands on its own; Core's remedy, in the cmdlets' words, goes to
            // ErrorDetails.RecommendedAction, where $Error[0].ErrorDetails, Get-Error and logging tools look for it.
            var record = new ErrorRecord(cx, cx.ErrorId, Category(cx.Kind), target ?? cx.FilePath);
            var advice = Advice(cx.Remedy);
            if (advice != null)
                record.ErrorDetails = new ErrorDetails(cx.Message) { RecommendedAction = char.ToUpperInvariant(advice[0]) + advice.Substring(1) + "." };
            else if (cx.InnerException is PathTooLongException)
                record.ErrorDetails = new ErrorDetails(cx.Message) { RecommendedAction = LongPathAdvice };
            return record;
        }
        if (ex is PathTooLongException)
        {
            // Windows PowerShell 5.1 (powershell.exe targets an old .NET Framework) keeps the 260-character limit;
            // PowerShell 7 does not. UID-named study/series/instance folders pass it easily.
            var record = new ErrorRecord(ex, "Cxas.PathTooLong", ErrorCategory.InvalidArgument, target);
            record.ErrorDetails = new ErrorDetails($"The path of '{target}' or of its output is too long for this PowerShell ({ex.Message}).")
            {
                RecommendedAction = LongPathAdvice,
            };
            return record;
        }
        if (ex is IOException || ex is UnauthorizedAccessException)
            return new ErrorRecord(ex, "Cxas." + CxasErrorKind.WriteFailed, ErrorCategory.WriteError, target);
        return new ErrorRecord(ex, "Cxas.Unexpected", ErrorCategory.NotSpecified, target);
    }

    private const string LongPathAdvice =
        "Run Cxas in PowerShell 7, which has no 260-character limit, or use a shorter -OutputPath or input folder (e.g. a drive letter mapped with subst).";

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
            case CxasRemedy.RedoFinished: return "use -Force to segment and write them again";
            case CxasRemedy.InstallCudaCompanion:
                return $"install it with Install-PSResource {Cxas.Models.NativeRuntime.CudaModuleName} (the same version as Cxas); it needs CUDA {Cxas.Models.NativeRuntime.CudaMajor} and cuDNN 9";
            case CxasRemedy.RaiseSizeLimit: return "if the checkpoint really is this large, raise -MaximumSizeMB";
            case CxasRemedy.AllowMoreTime: return "on a slow connection raise -DeadlineSec, or download the checkpoint elsewhere and use -Path";
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
            case CxasErrorKind.InvalidOperation: return ErrorCategory.InvalidOperation;
            case CxasErrorKind.AlreadyExists: return ErrorCategory.ResourceExists;
            case CxasErrorKind.Device: return ErrorCategory.DeviceError;
            case CxasErrorKind.InvalidModel: return ErrorCategory.InvalidData;
            case CxasErrorKind.WriteFailed: return ErrorCategory.WriteError;
            case CxasErrorKind.InvalidArgument: return ErrorCategory.InvalidArgument;
            case CxasErrorKind.Network: return ErrorCategory.ConnectionError;
            case CxasErrorKind.Unauthorized: return ErrorCategory.PermissionDenied;
            case CxasErrorKind.InUse: return ErrorCategory.ResourceBusy;
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
            List<string> resolved;
            try
            {
                resolved = ResolveFileSystemPaths(p, literal);
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
                        // A link left out may be a mounted archive (a junction, mount point or DFS link on Windows): warn, and count it for the summary.
                        LinkSkipped = link =>
                        {
                            LinksNotFollowed++;
                            WriteWarning($"Not following the folder link '{link}' (a symbolic link, junction or mount point): its files are left out; use -FollowSymlink to include them.");
                        },
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

    /// <summary>
    /// Emits a file this command wrote as the FileSystem provider does (Get-Item): with PSPath, PSParentPath and the
    /// provider's Mode and Length columns, so it formats, pipes and removes like any other item.
    /// </summary>
    internal void WriteFileItem(string path)
    {
        foreach (var item in InvokeProvider.Item.Get(new[] { path }, force: true, literalPath: true)) WriteObject(item);
    }

    /// <summary>
    /// Whether $PSDefaultParameterValues holds an entry for this cmdlet's <paramref name="parameter"/> (keys are
    /// "Command:Parameter" with wildcards, e.g. '*-Cxas*:Model'). A site default that does not apply to this call is
    /// not the user's mistake, so it gets no warning. PowerShell does not say whether a bound value was typed or came
    /// from the defaults; where an entry exists, the value is taken to come from it.
    /// </summary>
    internal bool FromSiteDefaults(string parameter)
    {
        if (!(SessionState.PSVariable.GetValue("PSDefaultParameterValues") is IDictionary defaults)) return false;
        var command = MyInvocation.MyCommand.Name;
        foreach (var key in defaults.Keys)
        {
            var text = key as string;
            int colon = text?.IndexOf(':') ?? -1;
            if (colon <= 0) continue;
            var commandPattern = new WildcardPattern(text!.Substring(0, colon).Trim(), WildcardOptions.IgnoreCase);
            var parameterPattern = new WildcardPattern(text.Substring(colon + 1).Trim(), WildcardOptions.IgnoreCase);
            if (commandPattern.IsMatch(command) && parameterPattern.IsMatch(parameter)) return true;
        }
        return false;
    }

    /// <summary>
    /// The file system paths -Path (wildcards) or -LiteralPath names; throws ItemNotFoundException for a pattern that
    /// matches nothing and a CxasException for another provider's path. Runs on the pipeline thread (the provider's).
    /// </summary>
    private protected List<string> ResolveFileSystemPaths(string p, bool literal)
    {
        if (literal) return new List<string> { GetUnresolvedProviderPathFromPSPath(p) };
        var resolved = new List<string>(GetResolvedProviderPathFromPSPath(p, out var provider));
        if (provider.Name != "FileSystem")
            throw new CxasException(CxasErrorKind.InvalidArgument, $"'{p}' is not a file system path.", p);
        if (resolved.Count == 0) throw new ItemNotFoundException(p);
        return resolved;
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
