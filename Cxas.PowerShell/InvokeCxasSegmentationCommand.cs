using System;
using System.Collections.Generic;
using System.Management.Automation;
using Cxas.Export;
using Cxas.Models;
using Cxas.Segmentation;

namespace Cxas.PowerShell
{
    /// <summary>
    /// <para type="synopsis">Segments the anatomy in chest X-ray images.</para>
    /// <para type="description">Reads PNG, JPEG (and, where supported, DICOM) files, runs the model and emits one
    /// SegmentationResult per image. With -OutputPath the masks are also written as they are produced.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "CxasSegmentation", DefaultParameterSetName = PathSet, SupportsShouldProcess = true)]
    [OutputType(typeof(SegmentationResult))]
    public sealed class InvokeCxasSegmentationCommand : CxasCmdlet, IDisposable
    {
        private const string PathSet = "Path";
        private const string LiteralSet = "LiteralPath";

        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
        [Alias("i", "Input")]
        [SupportsWildcards]
        public string[] Path { get; set; } = Array.Empty<string>();

        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralSet)]
        [Alias("PSPath", "FullName", "LP")]
        public string[] LiteralPath { get; set; } = Array.Empty<string>();

        /// <summary>Search folders recursively.</summary>
        [Parameter] public SwitchParameter Recurse { get; set; }

        /// <summary>Model name (see the models folders) or path to a model folder. Default: the module's default model.</summary>
        [Parameter]
        [Alias("m")]
        public string? Model { get; set; }

        /// <summary>Auto (CUDA when available, else CPU), Cpu, Cuda, Cuda:N, or the reference's "cpu" / "0".</summary>
        [Parameter]
        [Alias("g", "gpus")]
        [ArgumentCompleter(typeof(DeviceCompleter))]
        public string Device { get; set; } = "Auto";

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

        private Segmenter? _segmenter;
        private SegmentationQueue? _queue;
        private MaskOutputSet? _outputs;
        private ProgressTracker? _progress;

        protected override void BeginProcessing()
        {
            DeviceSpec device;
            CxasModel model;
            try
            {
                device = DeviceSpec.Parse(Device);
                model = ResolveModel(Model);
                _segmenter = new Segmenter(model, device);
            }
            catch (CxasException ex)
            {
                ThrowTerminatingError(ToErrorRecord(ex, Model ?? Device));
                return;
            }
            if (model.Manifest.TestOnly)
                WriteWarning($"Model '{model.Name}' is a test model: its masks are a closed-form function of pixel intensity, not anatomy.");
            WriteVerbose($"Model '{model.Name}' ({model.Directory}) on {_segmenter.Device}.");
            if (_segmenter.DeviceNote != null) WriteVerbose($"CUDA not used: {_segmenter.DeviceNote}");
            _queue = new SegmentationQueue(_segmenter);
            _progress = new ProgressTracker(this, "Invoke-CxasSegmentation");
            if (!string.IsNullOrEmpty(OutputPath))
            {
                try
                {
                    var output = GetUnresolvedProviderPathFromPSPath(OutputPath);
                    _outputs = new MaskOutputSet(this, output, OutputType, Force, NoClobber, null);
                }
                catch (CxasException ex)
                {
                    ThrowTerminatingError(ToErrorRecord(ex, OutputPath));
                }
            }
        }

        protected override void ProcessRecord()
        {
            bool literal = ParameterSetName == LiteralSet;
            var files = new List<string>(ExpandInputs(literal ? LiteralPath : Path, literal, Recurse));
            if (files.Count > 1) _progress!.Total = _progress.Done + _queue!.Pending + files.Count;
            foreach (var file in files)
            {
                foreach (var outcome in _queue!.Submit(file)) Emit(outcome);
                foreach (var outcome in _queue.TakeCompleted()) Emit(outcome);
            }
        }

        protected override void EndProcessing()
        {
            if (_queue != null)
            {
                SegmentationOutcome? outcome;
                while ((outcome = _queue.TakeNext()) != null) Emit(outcome);
            }
            if (_outputs != null)
                foreach (var record in _outputs.Complete()) WriteVerbose($"Wrote '{record.OutputPath}'.");
            _progress?.Complete();
        }

        private void Emit(SegmentationOutcome outcome)
        {
            _progress!.Step(outcome.Path);
            if (outcome.Result == null)
            {
                WriteFileError(outcome.Error!, outcome.Path);
                return;
            }
            if (_outputs != null)
                foreach (var record in _outputs.Write(outcome.Result)) WriteVerbose($"Wrote '{record.OutputPath}'.");
            WriteObject(outcome.Result);
        }

        public void Dispose()
        {
            // Drain background work so no task outlives the pipeline, and discard unfinished run-level outputs.
            if (_queue != null)
            {
                try { while (_queue.TakeNext() != null) { } } catch (Exception) { }
            }
            _outputs?.Dispose();
        }
    }
}
