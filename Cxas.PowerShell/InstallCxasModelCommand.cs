using System.Net;
using System.Threading;
using Cxas.Import;
using Cxas.Models;
using Cxas.Provisioning;

namespace Cxas.PowerShell;

/// <include file="Help/Text/Install-CxasModel.xml" path="doc/cmdlet/*" />
[Cmdlet(VerbsLifecycle.Install, "CxasModel", SupportsShouldProcess = true, DefaultParameterSetName = "Download"), OutputType(typeof(ModelCatalogEntry))]
public sealed class InstallCxasModelCommand : ModelWriteCmdlet
{
    private readonly CancellationTokenSource _cancel = new CancellationTokenSource();

    /// <summary>The model to install; only UNet_ResNet50_default has known sources.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = ModelImporter.ReferenceModelName;

    /// <summary>Auto (GitHub asset, then Google Drive), Reference (Drive), TorchXRayVision (GitHub), or an http(s) URL.</summary>
    [Parameter(ParameterSetName = "Download")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SourceCompleter))]
    public string Source { get; set; } = ModelSources.Auto;

    /// <summary>A checkpoint already downloaded (air-gapped servers): nothing is downloaded.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "File", ValueFromPipelineByPropertyName = true)]
    [Alias("LiteralPath", "FullName")]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>CurrentUser (default: ~/.cxas/models, %LOCALAPPDATA%\Cxas\models, or the first $env:CXAS_MODEL_PATH folder) or AllUsers (machine-wide).</summary>
    [Parameter]
    public ModelScope Scope { get; set; } = ModelScope.CurrentUser;

    /// <summary>Accept the weights' licence (CC BY-NC-SA 4.0) without a prompt; required when not interactive.</summary>
    [Parameter]
    public SwitchParameter AcceptLicense { get; set; }

    /// <summary>The checkpoint's expected SHA-256; a file with another hash is not installed.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Sha256 { get; set; }

    /// <summary>A proxy to use instead of the system's.</summary>
    [Parameter(ParameterSetName = "Download")]
    public Uri? Proxy { get; set; }

    /// <summary>Credentials for the proxy (-Proxy, or the system's).</summary>
    [Parameter(ParameterSetName = "Download")]
    [Credential]
    public PSCredential? ProxyCredential { get; set; }

    /// <summary>Seconds to wait for a server's answer, and for each piece of the transfer.</summary>
    [Parameter(ParameterSetName = "Download")]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 60;

    /// <summary>
    /// The largest checkpoint accepted, in MiB (default 2048: several times the reference's 294 MB); a download that
    /// announces or sends more is refused.
    /// </summary>
    [Parameter(ParameterSetName = "Download")]
    [ValidateRange(1, 1 << 20)]
    public int MaximumSizeMB { get; set; } = (int)(DownloadOptions.DefaultMaxBytes >> 20);

    /// <summary>Seconds the whole download may take, resumes and their pauses included (default 3600).</summary>
    [Parameter(ParameterSetName = "Download")]
    [ValidateRange(1, 7 * 24 * 3600)]
    public int DeadlineSec { get; set; } = (int)DownloadOptions.DefaultDeadline.TotalSeconds;

    protected override void StopProcessing() => _cancel.Cancel();

    protected override void ProcessRecord()
    {
        var request = new InstallRequest
        {
            Name = Name,
            Source = Source,
            Path = Path == null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path),
            Scope = Scope,
            ExpectedSha256 = Sha256,
            Force = Force.IsPresent,
            Download = new DownloadOptions
            {
                Proxy = CreateProxy(),
                ResponseTimeout = TimeSpan.FromSeconds(TimeoutSec),
                ReadTimeout = TimeSpan.FromSeconds(TimeoutSec),
                MaxBytes = (long)MaximumSizeMB << 20,
                Deadline = TimeSpan.FromSeconds(DeadlineSec),
            },
        };
        string target;
        string from;
        try
        {
            request.Import = PrecisionImportOptions();
            target = ModelInstaller.TargetDirectory(request);
            if (request.Path != null) from = request.Path;
            else
            {
                bool auto = Source.Equals(ModelSources.Auto, StringComparison.OrdinalIgnoreCase);
                var found = ModelSources.IsKnownModel(Name) ? ModelSources.ReferenceToolCheckpoints() : Array.Empty<string>();
                foreach (var file in found)
                {
                    if (auto) WriteVerbose($"The reference tool's own download is here and is used first: {file}.");
                    else WriteWarning($"The reference tool's own download is at '{file}': Install-CxasModel -Path '{file}' installs it without downloading.");
                }
                var local = auto ? found : Array.Empty<string>();
                from = string.Join(", then ", local.Concat(ModelSources.Resolve(Source, Name).Select(s => s.ToString())));
            }
        }
        catch (CxasException ex)
        {
            WriteError(ToErrorRecord(ex, ex.FilePath ?? Name));
            return;
        }

        if (!ShouldProcess(target, $"Install model '{Name}' from {from}")) return;
        if (NeedsLicence() && !AcceptLicense.IsPresent && !AskLicence()) return;

        var progress = new ProgressTracker(this, "Install-CxasModel");
        try
        {
            var result = ModelInstaller.Install(request, p =>
            {
                if (_cancel.IsCancellationRequested) throw new PipelineStoppedException();
                string? detail = p.Detail;
                int seconds = -1;
                if (p.Download is DownloadProgress d)
                {
                    var total = d.Total.HasValue ? $" of {d.Total.Value / 1048576.0:F1} MB" : "";
                    detail = $"{d.Bytes / 1048576.0:F1}{total} at {d.BytesPerSecond / 1048576.0:F1} MB/s" +
                             (d.Resumes > 0 ? $" ({d.Resumes} resumed)" : "") + $" from {d.Url}";
                    if (d.Total.HasValue && d.BytesPerSecond > 0)
                        seconds = (int)Math.Min(int.MaxValue, (d.Total.Value - d.Bytes) / d.BytesPerSecond);
                }
                progress.Stage(p.Stage, detail, p.Percent, seconds);
            }, _cancel.Token);
            progress.Complete();
            foreach (var failure in result.Failures) WriteWarning("Source skipped: " + failure);
            WriteVerbose($"Installed '{result.Name}' from {result.Source} ({result.Bytes:N0} bytes, SHA-256 {result.Sha256}" +
                         (result.Resumes > 0 ? $", resumed {result.Resumes} time(s)" : "") + $") into {result.Directory}.");
            ReportPrecision(result.Import?.Precision);
            WriteObject(CxasModelCatalog.Describe(this, result.Directory, result.Root));
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (CxasException ex)
        {
            WriteError(ToErrorRecord(ex, ex.FilePath ?? request.Path ?? Name));
        }
    }

    /// <summary>The reference weights' licence applies to the known model and to its known sources.</summary>
    private bool NeedsLicence() =>
        ModelSources.IsKnownModel(Name)
        || (Path == null && !Uri.TryCreate(Source, UriKind.Absolute, out _));

    /// <summary>Shows the licence and asks; without a user to ask, stops with an error that says to add -AcceptLicense.</summary>
    private bool AskLicence()
    {
        var text = ModelSources.LicenceText(Name);
        var args = Environment.GetCommandLineArgs();
        bool nonInteractive = !Environment.UserInteractive
            || args.Any(a => a.StartsWith("-noni", StringComparison.OrdinalIgnoreCase) || a.StartsWith("/noni", StringComparison.OrdinalIgnoreCase))
            || Host?.UI == null;
        if (!nonInteractive)
        {
            try
            {
                if (ShouldContinue(text + Environment.NewLine + "Do you accept this licence?", "Licence of the model weights")) return true;
                WriteError(LicenceError("The licence was not accepted; nothing was installed.", ErrorCategory.OperationStopped));
                return false;
            }
            catch (Exception ex) when (ex is PSInvalidOperationException || ex is System.Management.Automation.Host.HostException || ex is NotImplementedException)
            {
                // A host that cannot prompt: as non-interactive.
            }
        }
        ThrowTerminatingError(LicenceError(
            text + " This session cannot ask for acceptance: add -AcceptLicense to accept it (nothing was installed).", ErrorCategory.PermissionDenied));
        return false;
    }

    private ErrorRecord LicenceError(string message, ErrorCategory category) =>
        new ErrorRecord(new InvalidOperationException(message), "Cxas.LicenceNotAccepted", category, Name);

    private IWebProxy? CreateProxy()
    {
        var credential = ProxyCredential?.GetNetworkCredential();
        if (Proxy != null) return new WebProxy(Proxy) { Credentials = credential };
        if (credential == null) return null;
        var system = WebRequest.GetSystemWebProxy();
        system.Credentials = credential;
        return system;
    }

    /// <summary>Tab completion for -Source.</summary>
    public sealed class SourceCompleter : IArgumentCompleter
    {
        public System.Collections.Generic.IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters) =>
            new[] { ModelSources.Auto, ModelSources.TorchXRayVision, ModelSources.Reference }
                .Where(s => s.StartsWith(wordToComplete ?? "", StringComparison.OrdinalIgnoreCase))
                .Select(s => new CompletionResult(s));
    }
}
