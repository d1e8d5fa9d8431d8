using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using Cxas.Features;
using Cxas.Segmentation;

namespace Cxas.PowerShell
{
    /// <summary>
    /// <para type="synopsis">Measures features of segmented chest X-rays: CTR, SCD and shape features of chosen classes.</para>
    /// <para type="description">Takes SegmentationResult objects from Invoke-CxasSegmentation, or image files (then it
    /// segments them itself; -OutputPath and -OutputType also store the masks). Emits one flat FeatureValue per image,
    /// feature, method and label, ready for Export-Csv. Values are computed at the image's own resolution, in mm where
    /// the source states a pixel spacing and in pixels otherwise (the Unit column says which). A structure that is
    /// missing gives a Status and an empty Value.</para>
    /// </summary>
    /// <example>
    /// <code>
    /// Invoke-CxasSegmentation ./samples | Get-CxasFeature -Feature CTR, SCD | Format-Table
    /// </code>
    /// <para>Measures the cardio-thoracic ratio and the spine-centre distance of each image (SCD needs a model with vertebrae: it reports why it is missing otherwise).</para>
    /// </example>
    /// <example>
    /// <code>
    /// Get-CxasFeature CTR ./samples/00000001_000.png
    /// </code>
    /// <para>Segments one file itself and measures its CTR: the feature first, then the path.</para>
    /// </example>
    /// <example>
    /// <code>
    /// Invoke-CxasSegmentation ./samples | Get-CxasFeature -Feature Area, Centroid -Label heart, lung | Export-Csv ./shape.csv
    /// </code>
    /// <para>Writes the area and centroid of the heart and lungs, one flat row per image, feature and class.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "CxasFeature", DefaultParameterSetName = ResultSet, SupportsShouldProcess = true)]
    [OutputType(typeof(FeatureValue))]
    public sealed class GetCxasFeatureCommand : CxasCmdlet, IDisposable
    {
        private const string ResultSet = "Result";
        private const string PathSet = "Path";
        private const string LiteralSet = "LiteralPath";

        /// <summary>Segmentation results (from Invoke-CxasSegmentation).</summary>
        [Parameter(ValueFromPipeline = true, ParameterSetName = ResultSet)]
        public SegmentationResult[] InputObject { get; set; } = Array.Empty<SegmentationResult>();

        /// <summary>Image files or folders to segment first (wildcards allowed). Positional values that are not feature names
        /// count as paths too, so Get-CxasFeature x.png and Get-CxasFeature CTR x.png both measure x.png.</summary>
        [Parameter(Position = 1, ValueFromPipeline = true, ParameterSetName = PathSet)]
        [SupportsWildcards]
        public string[] Path { get; set; } = Array.Empty<string>();

        /// <summary>Image files or folders, taken literally; from the pipeline by property name (what Get-ChildItem emits).</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralSet)]
        [Alias("PSPath", "FullName", "LP")]
        public string[] LiteralPath { get; set; } = Array.Empty<string>();

        /// <summary>CTR, SCD, Area, Perimeter, Centroid, BoundingBox, Compactness, Convexity (or 'Cardio-Thoracic Ratio',
        /// 'Spine-Center Distance'); default CTR. Without results from the pipeline, a value here that is not a feature
        /// name is taken as an image path.</summary>
        [Parameter(Position = 0)]
        [Alias("f")]
        [ArgumentCompleter(typeof(FeatureCompleter))]
        public string[] Feature { get; set; } = { "CTR" };

        /// <summary>Classes for the shape features (Area, Perimeter, Centroid, BoundingBox, Compactness, Convexity).</summary>
        [Parameter]
        [ArgumentCompleter(typeof(LabelCompleter))]
        public string[]? Label { get; set; }

        /// <summary>Which CTR: Standard (default), Reference (the reference implementation's variant), or both.</summary>
        [Parameter]
        [ValidateSet("Standard", "Reference", IgnoreCase = true)]
        public string[] CtrMethod { get; set; } = { "Standard" };

        /// <summary>Search folders recursively.</summary>
        [Parameter(ParameterSetName = PathSet)]
        [Parameter(ParameterSetName = LiteralSet)]
        public SwitchParameter Recurse { get; set; }

        /// <summary>With -Recurse, also enter folders that are symbolic links (each folder is still scanned once).</summary>
        [Parameter(ParameterSetName = PathSet)]
        [Parameter(ParameterSetName = LiteralSet)]
        public SwitchParameter FollowSymlink { get; set; }

        /// <summary>Model for file input (name or folder; default: the module's default model).</summary>
        [Parameter(ParameterSetName = PathSet)]
        [Parameter(ParameterSetName = LiteralSet)]
        [Alias("m")]
        [ArgumentCompleter(typeof(ModelCompleter))]
        public string? Model { get; set; }

        /// <summary>Auto (CUDA when available, else CPU), Cpu, Cuda, Cuda:N, or the reference's "cpu" / "0", for file input.</summary>
        [Parameter(ParameterSetName = PathSet)]
        [Parameter(ParameterSetName = LiteralSet)]
        [Alias("g", "gpus")]
        [ArgumentCompleter(typeof(DeviceCompleter))]
        public string Device { get; set; } = "Auto";

        /// <summary>With file input: also store the masks in this folder (like the reference's --store_seg).</summary>
        [Parameter(ParameterSetName = PathSet)]
        [Parameter(ParameterSetName = LiteralSet)]
        [Alias("o")]
        public string? OutputPath { get; set; }

        /// <summary>With -OutputPath: mask formats, as Invoke-CxasSegmentation -OutputType.</summary>
        [Parameter(ParameterSetName = PathSet)]
        [Parameter(ParameterSetName = LiteralSet)]
        [Alias("ot")]
        [ValidateSet("png", "jpg", "npy", "npz", "json", "dicom-seg", IgnoreCase = true)]
        public string[] OutputType { get; set; } = { "png" };

        /// <summary>With -OutputPath: write every output again, replacing this run's planned outputs.</summary>
        [Parameter(ParameterSetName = PathSet)]
        [Parameter(ParameterSetName = LiteralSet)]
        public SwitchParameter Force { get; set; }

        /// <summary>With -OutputPath: skip outputs that exist (with a warning) instead of reporting an error.</summary>
        [Parameter(ParameterSetName = PathSet)]
        [Parameter(ParameterSetName = LiteralSet)]
        public SwitchParameter NoClobber { get; set; }

        private readonly List<FeatureKind> _kinds = new List<FeatureKind>();
        private readonly List<CtrMethod> _methods = new List<CtrMethod>();
        private FileSegmentationRun? _run;
        private ProgressTracker? _progress;

        // Paths given in the first position (Get-CxasFeature x.png), when no results come from the pipeline.
        private List<string>? _positionalPaths;

        private bool Exists(string path)
        {
            try { return InvokeProvider.Item.Exists(path, force: true, literalPath: true); }
            catch (Exception) { return false; }
        }

        protected override void BeginProcessing()
        {
            try
            {
                var others = new List<string>();
                // The second position belongs to -Path; a feature name there that is no file is a feature
                // (Get-CxasFeature x.png SCD).
                var features = Feature.AsEnumerable();
                if (ParameterSetName == PathSet && MyInvocation.BoundParameters.ContainsKey(nameof(Path)))
                {
                    var named = Path.Where(p => FeatureNames.TryParse(p, out _) && !Exists(p)).ToList();
                    if (named.Count > 0)
                    {
                        features = MyInvocation.BoundParameters.ContainsKey(nameof(Feature)) ? Feature.Concat(named) : named;
                        Path = Path.Except(named).ToArray();
                    }
                }
                foreach (var f in features)
                {
                    if (!FeatureNames.TryParse(f, out var kind)) { others.Add(f); continue; }
                    if (!_kinds.Contains(kind)) _kinds.Add(kind);
                }
                if (others.Count > 0)
                {
                    // Piped results leave no doubt that these were meant as features.
                    if (ParameterSetName != PathSet && (ParameterSetName != ResultSet || MyInvocation.ExpectingInput))
                        FeatureNames.Parse(others[0]);
                    // A value that is neither a feature nor anything on disk is reported as such (a typo of a feature
                    // name would otherwise read as a missing file); the others go on.
                    _positionalPaths = new List<string>();
                    foreach (var o in others)
                    {
                        if (WildcardPattern.ContainsWildcardCharacters(o) || Exists(o)) { _positionalPaths.Add(o); continue; }
                        WriteFileError(new CxasException(CxasErrorKind.InvalidArgument,
                            $"'{o}' is neither a feature ({string.Join(", ", Enum.GetNames(typeof(FeatureKind)))}) nor an existing file or folder.", o), o);
                    }
                }
                if (_kinds.Count == 0) _kinds.Add(FeatureKind.CTR);
                if (ParameterSetName != LiteralSet && !MyInvocation.ExpectingInput && Path.Length == 0 && _positionalPaths == null && others.Count == 0)
                    throw new CxasException(CxasErrorKind.InvalidArgument,
                        "Get-CxasFeature needs something to measure: pipe results from Invoke-CxasSegmentation, or give image files or folders " +
                        "(Get-CxasFeature CTR ./image.png, or -Path / -LiteralPath).");
                foreach (var m in CtrMethod)
                {
                    var method = (CtrMethod)Enum.Parse(typeof(CtrMethod), m, ignoreCase: true);
                    if (!_methods.Contains(method)) _methods.Add(method);
                }
                if (_kinds.Any(FeatureNames.IsShapeFeature) && (Label == null || Label.Length == 0))
                    throw new CxasException(CxasErrorKind.InvalidArgument,
                        "Shape features (" + string.Join(", ", _kinds.Where(FeatureNames.IsShapeFeature)) + ") need -Label: the classes to measure.");
            }
            catch (CxasException ex)
            {
                ThrowTerminatingError(ToErrorRecord(ex, string.Join(", ", Feature)));
            }
        }

        // The parameter set is known for certain only once pipeline input is bound (piped files or strings choose a
        // file set after BeginProcessing), so the mode is chosen here, at the first record.
        protected override void ProcessRecord()
        {
            if (ParameterSetName == ResultSet && _positionalPaths == null)
            {
                _progress ??= new ProgressTracker(this, "Get-CxasFeature", 3);
                foreach (var result in InputObject)
                {
                    if (result == null) continue;
                    _progress.Step(result.Path);
                    Measure(result);
                }
                return;
            }
            bool literal = ParameterSetName == LiteralSet;
            var paths = literal ? LiteralPath : Path;
            if (_positionalPaths != null)
            {
                // Taken once, with the first record (there is no pipeline input in this case).
                paths = _positionalPaths.Concat(paths).ToArray();
                _positionalPaths = null;
                literal = false;
            }
            if (Session != null && Session.Length > 0)
            {
                // Segmented on the nodes (see Invoke-CxasSegmentation -Session), measured here.
                _remote ??= new RemoteSegmentationRun(this, Session, ThrottleLimit, Model, Device, OutputPath, OutputType, Force, NoClobber);
                _remoteInputs.AddRange(ExpandInputs(paths, literal, Recurse, FollowSymlink));
                return;
            }
            _run ??= new FileSegmentationRun(this, Model, Device, OutputPath, OutputType, Force, NoClobber, "Get-CxasFeature");
            foreach (var file in ExpandInputs(paths, literal, Recurse, FollowSymlink))
                foreach (var result in _run.Add(file)) Measure(result);
        }

        protected override void EndProcessing()
        {
            if (_remote != null)
                foreach (var result in _remote.Run(_remoteInputs))
                    Measure((SegmentationResult)result.BaseObject, result.Properties["PSComputerName"]?.Value as string);
            if (_run != null)
                foreach (var result in _run.Finish()) Measure(result);
            _progress?.Complete();
        }

        protected override void StopProcessing() => _remote?.Stop();

        private void Measure(SegmentationResult result, string? computer = null)
        {
            List<FeatureValue> values;
            try
            {
                var extractor = new FeatureExtractor(result);
                values = new List<FeatureValue>();
                foreach (var kind in _kinds)
                    values.AddRange(extractor.Compute(kind, Label, _methods));
            }
            catch (CxasException ex)
            {
                WriteFileError(ex, result.Path);
                return;
            }
            foreach (var v in values)
            {
                if (v.Status != FeatureStatus.Ok)
                    WriteVerbose($"{result.FileName}: {v.Feature}{(v.Label != null ? " " + v.Label : "")}: {v.Status}. {v.Message}");
                if (computer == null) WriteObject(v);
                else
                {
                    // Rows from a node name it, as Invoke-Command's output does; the row stays flat for Export-Csv.
                    var row = PSObject.AsPSObject(v);
                    row.Properties.Add(new PSNoteProperty("PSComputerName", computer));
                    WriteObject(row);
                }
            }
        }

        public void Dispose() => _run?.Dispose();

        private RemoteSegmentationRun? _remote;
        private readonly List<Imaging.InputFile> _remoteInputs = new List<Imaging.InputFile>();

        /// <summary>With file input: sessions to segment on (see Invoke-CxasSegmentation -Session); the features are measured here.</summary>
        [Parameter(ParameterSetName = PathSet)]
        [Parameter(ParameterSetName = LiteralSet)]
        public System.Management.Automation.Runspaces.PSSession[]? Session { get; set; }

        /// <summary>With -Session: how many of the sessions work at once (default: all of them).</summary>
        [Parameter(ParameterSetName = PathSet)]
        [Parameter(ParameterSetName = LiteralSet)]
        [ValidateRange(1, 1024)]
        public int ThrottleLimit { get; set; } = 1024;
    }

    /// <summary>Completes -Feature with the feature names (short names and the reference's long names).</summary>
    public sealed class FeatureCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var word = (wordToComplete ?? "").Trim('\'', '"');
            var names = Enum.GetNames(typeof(FeatureKind)).Concat(new[] { "Cardio-Thoracic Ratio", "Spine-Center Distance" });
            foreach (var name in names)
            {
                if (!name.StartsWith(word, StringComparison.OrdinalIgnoreCase)) continue;
                var text = name.IndexOf(' ') >= 0 ? "'" + name + "'" : name;
                yield return new CompletionResult(text, name, CompletionResultType.ParameterValue, name);
            }
        }
    }
}
