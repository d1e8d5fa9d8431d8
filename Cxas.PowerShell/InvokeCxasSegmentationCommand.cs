using System;
using System.Collections.Generic;
using System.Management.Automation;
using Cxas.DicomWeb;
using Cxas.Segmentation;

namespace Cxas.PowerShell
{
    /// <summary>
    /// <para type="synopsis">Segments the anatomy in chest X-ray images.</para>
    /// <para type="description">Reads PNG, JPEG and DICOM files, or DICOMweb instances from Find-CxasDicomInstance (retrieved
    /// over WADO-RS while the previous one is segmented), runs the model and emits one SegmentationResult per image. With
    /// -OutputPath the masks are also written as they are produced.</para>
    /// </summary>
    /// <example>
    /// <code>
    /// Invoke-CxasSegmentation ./samples/00000001_000.png
    /// </code>
    /// <para>Segments one image with the default model; the result shows as a compact table.</para>
    /// </example>
    /// <example>
    /// <code>
    /// Invoke-CxasSegmentation ./samples -Recurse -OutputPath ./masks -OutputType png, npz
    /// </code>
    /// <para>Segments a folder tree and writes each image's masks as they are produced; a rerun skips the images already written.</para>
    /// </example>
    /// <example>
    /// <code>
    /// Get-ChildItem ./samples -Filter *.png | Invoke-CxasSegmentation |
    ///     Where-Object { $_.PixelCounts['heart'] -gt 0 } |
    ///     Select-Object FileName, PresentCount, InferenceMs
    /// </code>
    /// <para>Pipes files in and keeps the images where a heart was found.</para>
    /// </example>
    /// <example>
    /// <code>
    /// # Not run by the tests: needs remoting sessions to servers that share the folders.
    /// $nodes = New-PSSession -ComputerName rad1, rad2, rad3
    /// Invoke-CxasSegmentation \\archive\xrays -Recurse -Session $nodes -OutputPath \\archive\masks
    /// </code>
    /// <para>Spreads a folder tree over three servers; outputs land where a local run would put them, and a node that fails has its unfinished images redone on the others.</para>
    /// </example>
    // Results are the default set so that a deserialized result (from a remote session) is converted to one before
    // PowerShell would turn it into a path string; paths, files and instances still bind by their own types.
    [Cmdlet(VerbsLifecycle.Invoke, "CxasSegmentation", DefaultParameterSetName = ResultSet, SupportsShouldProcess = true)]
    [OutputType(typeof(SegmentationResult))]
    public sealed class InvokeCxasSegmentationCommand : CxasCmdlet, IDisposable
    {
        private const string PathSet = "Path";
        private const string LiteralSet = "LiteralPath";
        private const string ResultSet = "Result";
        private const string InstanceSet = "Instance";

        /// <summary>Image files or folders; wildcards allowed; from the pipeline by value (strings).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
        [Alias("i", "Input")]
        [SupportsWildcards]
        public string[] Path { get; set; } = Array.Empty<string>();

        /// <summary>Image files or folders, taken literally; from the pipeline by property name (what Get-ChildItem emits).</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralSet)]
        [Alias("PSPath", "FullName", "LP")]
        public string[] LiteralPath { get; set; } = Array.Empty<string>();

        /// <summary>DICOMweb instances from Find-CxasDicomInstance: each is retrieved (WADO-RS) while the one before is segmented.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InstanceSet)]
        public DicomInstance[] InputObject { get; set; } = Array.Empty<DicomInstance>();

        /// <summary>Search folders recursively.</summary>
        [Parameter] public SwitchParameter Recurse { get; set; }

        /// <summary>With -Recurse, also enter folders that are symbolic links (each folder is still scanned once).</summary>
        [Parameter] public SwitchParameter FollowSymlink { get; set; }

        /// <summary>Model name (see the models folders) or path to a model folder. Default: the module's default model.</summary>
        [Parameter]
        [Alias("m")]
        [ArgumentCompleter(typeof(ModelCompleter))]
        public string? Model { get; set; }

        /// <summary>Auto (CUDA when available, else CPU), Cpu, Cuda, Cuda:N, or the reference's "cpu" / "0".</summary>
        [Parameter]
        [Alias("g", "gpus")]
        [ArgumentCompleter(typeof(DeviceCompleter))]
        public string Device { get; set; } = "Auto";

        /// <summary>Earlier results (also from a job or a remote session): their images are segmented again, e.g. with another -Model.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ResultSet)]
        public SegmentationResult[] Result { get; set; } = Array.Empty<SegmentationResult>();

        /// <summary>Sessions to spread the work over (New-PSSession, WinRM or SSH): each node runs the Cxas installed there; paths must be valid on the nodes (a shared folder).</summary>
        [Parameter(ParameterSetName = PathSet)]
        [Parameter(ParameterSetName = LiteralSet)]
        public System.Management.Automation.Runspaces.PSSession[]? Session { get; set; }

        /// <summary>With -Session: how many of the sessions work at once (default: all of them).</summary>
        [Parameter(ParameterSetName = PathSet)]
        [Parameter(ParameterSetName = LiteralSet)]
        [ValidateRange(1, 1024)]
        public int ThrottleLimit { get; set; } = 1024;

        /// <summary>Folder to write masks into, as they are produced.</summary>
        [Parameter]
        [Alias("o")]
        public string? OutputPath { get; set; }

        /// <summary>Mask formats to write with -OutputPath (default png).</summary>
        [Parameter]
        [Alias("ot")]
        [ValidateSet("png", "jpg", "npy", "npz", "json", "dicom-seg", IgnoreCase = true)]
        public string[] OutputType { get; set; } = { "png" };

        /// <summary>Overwrite existing outputs.</summary>
        [Parameter] public SwitchParameter Force { get; set; }

        /// <summary>Skip outputs that already exist (with a warning) instead of reporting an error.</summary>
        [Parameter] public SwitchParameter NoClobber { get; set; }

        private FileSegmentationRun? _run;
        private RemoteSegmentationRun? _remote;
        private readonly List<Imaging.InputFile> _remoteInputs = new List<Imaging.InputFile>();

        protected override void BeginProcessing()
        {
            if (Session != null && Session.Length > 0)
                _remote = new RemoteSegmentationRun(this, Session, ThrottleLimit, Model, Device, OutputPath, OutputType, Force, NoClobber);
            else
                _run = new FileSegmentationRun(this, Model, Device, OutputPath, OutputType, Force, NoClobber, "Invoke-CxasSegmentation");
        }

        protected override void ProcessRecord()
        {
            if (ParameterSetName == InstanceSet)
            {
                foreach (var instance in InputObject)
                {
                    if (instance == null) continue;
                    Imaging.InputFile input;
                    try { input = instance.ToInput(); }
                    catch (CxasException ex)
                    {
                        WriteError(ToErrorRecord(ex, instance.Uri));
                        continue;
                    }
                    foreach (var result in _run!.Add(input)) WriteObject(result);
                }
                return;
            }
            if (ParameterSetName == ResultSet)
            {
                foreach (var earlier in Result)
                {
                    if (earlier == null) continue;
                    if (!System.IO.File.Exists(earlier.Path))
                    {
                        WriteFileError(new CxasException(CxasErrorKind.NotFound,
                            $"Cannot segment '{earlier.Path}' again: it is not a file here (a PACS instance is found again with Find-CxasDicomInstance).", earlier.Path), earlier.Path);
                        continue;
                    }
                    foreach (var result in _run!.Add(new Imaging.InputFile(earlier.Path, earlier.Source.RelativePath))) WriteObject(result);
                }
                return;
            }
            bool literal = ParameterSetName == LiteralSet;
            foreach (var file in ExpandInputs(literal ? LiteralPath : Path, literal, Recurse, FollowSymlink))
            {
                if (_remote != null) { _remoteInputs.Add(file); continue; }
                foreach (var result in _run!.Add(file)) WriteObject(result);
            }
        }

        protected override void EndProcessing()
        {
            if (_remote != null)
            {
                foreach (var result in _remote.Run(_remoteInputs)) WriteObject(result);
                return;
            }
            foreach (var result in _run!.Finish()) WriteObject(result);
        }

        protected override void StopProcessing() => _remote?.Stop();

        public void Dispose() => _run?.Dispose();
    }
}
