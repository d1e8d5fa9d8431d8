using Cxas.Export;
using Cxas.Models;
using Cxas.Inference;

namespace Cxas.Runs
{
    /// <summary>What a run does with an output that exists at a planned place and is not already this plan's finished output.</summary>
    public enum WritePolicy
    {
        /// <summary>Report it as an AlreadyExists error for that input (the default).</summary>
        Fail,
        /// <summary>Replace what this run writes (and nothing else): -Force.</summary>
        Overwrite,
        /// <summary>Keep it and warn: -NoClobber.</summary>
        Keep,
    }

    /// <summary>The configuration of one <see cref="SegmentationRun"/> (or of the mask outputs of an export).</summary>
    public sealed class SegmentationRunOptions
    {
        public SegmentationRunOptions(CxasModel model) => Model = model;

        /// <summary>The model that segments.</summary>
        public CxasModel Model { get; }
        public DeviceSpec Device { get; init; } = DeviceSpec.Cpu;
        /// <summary>Images per model run (1: one at a time, overlapped with decoding).</summary>
        public int BatchSize { get; init; } = 1;
        /// <summary>The output folder; null: no masks are written.</summary>
        public string? OutputDirectory { get; init; }
        public IReadOnlyList<MaskFormat> Formats { get; init; } = new[] { MaskFormat.Png };
        public WritePolicy WritePolicy { get; init; } = WritePolicy.Fail;
        /// <summary>Classes to write (null: all).</summary>
        public IReadOnlyList<string>? Labels { get; init; }
        /// <summary>The name of what runs (progress and summary).</summary>
        public string Activity { get; init; } = "Segmentation";
        /// <summary>Drop finished inputs from the results instead of answering them with the earlier run's result.</summary>
        public bool SkipFinished { get; init; }
        /// <summary>How long to wait for another run that owns the output folder (see <see cref="OutputOwnership"/>).</summary>
        public TimeSpan OwnershipWait { get; init; } = OutputOwnership.DefaultWait;
        /// <summary>
        /// The folder's names were planned by a run that owns it and hands inputs out (a fan-out node): take no
        /// ownership, write only under the names the journal holds.
        /// </summary>
        public bool PlannedElsewhere { get; init; }
        /// <summary>The readers, decode limits, DICOM frame decoders and mask writers of the run (a configuration of the
        /// caller's own, or <see cref="CxasConfiguration.Default"/>).</summary>
        public CxasConfiguration Configuration { get; init; } = CxasConfiguration.Default;
        /// <summary>The owner of the ONNX sessions the run takes its model's from (the caller keeps and disposes it, and a
        /// later run given the same owner does not load the model again); null: the run makes its own and disposes it.</summary>
        public ModelSessions? Sessions { get; init; }
    }

    /// <summary>
    /// What a run reports back to whoever drives it: confirmation before each write, messages, failed inputs and
    /// progress. The cmdlets implement it with ShouldProcess and their streams; a callback may throw to stop the run.
    /// </summary>
    public interface IRunHost
    {
        /// <summary>Whether to write <paramref name="target"/> (-WhatIf, -Confirm).</summary>
        bool ShouldProcess(string target, string action);
        /// <summary>Whether nothing is to be written at all (-WhatIf): the output folder is then neither created nor locked.</summary>
        bool WritesNothing { get; }
        /// <summary>Whether the run is being stopped (Ctrl+C): a wait for the output folder ends.</summary>
        bool Stopping { get; }
        void Verbose(string message);
        void Warning(string message);
        /// <summary>The caller's words for a remedy the run suggests (the cmdlets name their parameters: "use -Force to
        /// ..."), or null for none; Core's own messages name no cmdlet or parameter.</summary>
        string? Advice(CxasRemedy remedy);
        /// <summary>An input failed (not decoded, not segmented): the other inputs go on.</summary>
        void InputFailed(Exception error, string path);
        /// <summary>An output of an input (or of the run) failed.</summary>
        void OutputFailed(Exception error, string? target);
        /// <summary>One input is done (a result, a finished input or a failure).</summary>
        void Step(string path);
    }

    /// <summary>What one segmentation run did: the message data of a cmdlet's closing information record.</summary>
    /// <param name="Activity">What ran.</param>
    /// <param name="Files">Inputs seen: results, skipped and failed.</param>
    /// <param name="Results">Images segmented.</param>
    /// <param name="Errors">Inputs that failed (each with its error record).</param>
    /// <param name="Skipped">Finished inputs: not decoded or segmented again (their outputs and result are an earlier run's).</param>
    /// <param name="Seconds">Wall time of the run.</param>
    /// <param name="ImagesPerSecond">Results per second of wall time.</param>
    public sealed record RunSummary(string Activity, int Files, int Results, int Errors, int Skipped, double Seconds, double ImagesPerSecond)
    {
        /// <summary>Folder links (symbolic links, junctions, mount points) under a recursive folder scan that were not entered.</summary>
        public int LinksNotFollowed { get; init; }

        public override string ToString() =>
            $"{Activity}: {Files} file(s), {Results} result(s), {Errors} error(s), {Skipped} skipped, " +
            (LinksNotFollowed > 0 ? $"{LinksNotFollowed} folder link(s) not followed, " : "") +
            $"{Seconds:0.0} s ({ImagesPerSecond:0.00} images/s).";
    }
}
