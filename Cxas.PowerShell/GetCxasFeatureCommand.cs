using System.Collections;
using Cxas.Features;

namespace Cxas.PowerShell;

/// <include file="Help/Text/Get-CxasFeature.xml" path="doc/cmdlet/*" />
[Cmdlet(VerbsCommon.Get, "CxasFeature", DefaultParameterSetName = ResultSet, SupportsShouldProcess = true), OutputType("Cxas.Features.FeatureValue")]
public sealed class GetCxasFeatureCommand : FileInputCmdlet
{
    /// <summary>Segmentation results (from Invoke-CxasSegmentation).</summary>
    [Parameter(ValueFromPipeline = true, ParameterSetName = ResultSet)]
    public SegmentationResult[] InputObject { get; set; } = Array.Empty<SegmentationResult>();

    /// <summary>Image files or folders to segment first (wildcards allowed). Positional values that are not feature names
    /// count as paths too, so Get-CxasFeature x.png and Get-CxasFeature CTR x.png both measure x.png.</summary>
    [Parameter(Position = 1, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

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
    public CtrMethod[] CtrMethod { get; set; } = { Features.CtrMethod.Standard };

    protected override string[] PathArgument => Path;

    private readonly List<FeatureKind> _kinds = new List<FeatureKind>();
    private List<CtrMethod> _methods = new List<CtrMethod>();
    private ProgressTracker? _progress;
    // Paths given in the first position (Get-CxasFeature x.png), when no results come from the pipeline.
    private List<string>? _positionalPaths;

    protected override void BeginProcessing()
    {
        // With -AsJob the job's own invocation checks the arguments and reports in the job's error stream.
        if (ForJob()) return;
        try
        {
            SortPositionalValues();
            _methods = CtrMethod.Distinct().ToList();
            if (_kinds.Any(FeatureNames.IsShapeFeature) && (Label == null || Label.Length == 0))
                throw new CxasException(CxasErrorKind.InvalidArgument,
                    "Shape features (" + string.Join(", ", _kinds.Where(FeatureNames.IsShapeFeature)) + ") need -Label: the classes to measure.");
        }
        catch (CxasException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex, string.Join(", ", Feature)));
        }
    }

    /// <summary>
    /// Features and paths from the two positions: a feature name in -Path's position that is no file is a feature
    /// (Get-CxasFeature x.png SCD); a value in -Feature's that is no feature is a path, unless results are piped in.
    /// </summary>
    private void SortPositionalValues()
    {
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
        var others = new List<string>();
        foreach (var f in features)
        {
            if (!FeatureNames.TryParse(f, out var kind)) { others.Add(f); continue; }
            if (!_kinds.Contains(kind)) _kinds.Add(kind);
        }
        if (_kinds.Count == 0) _kinds.Add(FeatureKind.CTR);
        if (others.Count > 0)
        {
            // Piped results leave no doubt that these were meant as features.
            if (ParameterSetName != PathSet && (ParameterSetName != ResultSet || MyInvocation.ExpectingInput))
                FeatureNames.Parse(others[0]);
            // A value that is neither a feature nor anything on disk is reported as such (a typo of a feature name
            // would otherwise read as a missing file); the others go on.
            _positionalPaths = new List<string>();
            foreach (var o in others)
            {
                if (WildcardPattern.ContainsWildcardCharacters(o) || Exists(o)) { _positionalPaths.Add(o); continue; }
                WriteFileError(new CxasException(CxasErrorKind.InvalidArgument,
                    $"'{o}' is neither a feature ({string.Join(", ", Enum.GetNames(typeof(FeatureKind)))}) nor an existing file or folder.", o), o);
            }
        }
        else if (ParameterSetName != LiteralSet && !MyInvocation.ExpectingInput && Path.Length == 0)
        {
            throw new CxasException(CxasErrorKind.InvalidArgument,
                "Get-CxasFeature needs something to measure: pipe results from Invoke-CxasSegmentation, or give image files or folders " +
                "(Get-CxasFeature CTR ./image.png, or -Path / -LiteralPath).");
        }
    }

    private bool Exists(string path)
    {
        try { return InvokeProvider.Item.Exists(path, force: true, literalPath: true); }
        catch (Exception) { return false; }
    }

    // The parameter set is known for certain only once pipeline input is bound (piped files or strings choose a
    // file set after BeginProcessing), so the mode is chosen here, at each record.
    protected override void ProcessRecord()
    {
        if (ForJob(job => { if (ParameterSetName == ResultSet) foreach (var r in InputObject) job.AddObject(r); else RecordFileInput(job); })) return;
        if (ParameterSetName == ResultSet && _positionalPaths == null)
        {
            if (_progress == null)
            {
                // Results name their model already: what would segment files has nothing to do here.
                var fileOnly = FileOnlyParameters.Where(p => MyInvocation.BoundParameters.ContainsKey(p) && !FromSiteDefaults(p)).ToList();
                if (fileOnly.Count > 0)
                    WriteWarning($"-{string.Join(", -", fileOnly)} apply to image files and are ignored for results, which are segmented already " +
                                 "(Invoke-CxasSegmentation takes results to segment them again).");
                _progress = new ProgressTracker(this, "Get-CxasFeature");
            }
            foreach (var result in InputObject)
            {
                if (result == null) continue;
                _progress.Step(result.Path);
                Measure(result, null);
            }
            return;
        }
        var extra = _positionalPaths;
        _positionalPaths = null; // taken once, with the first record (no pipeline input in this case)
        Segment(RecordFiles(extra));
    }

    protected override void EndProcessing()
    {
        if (ForJob())
        {
            StartJob();
            return;
        }
        FinishSegmentation();
        _progress?.Complete();
    }

    protected override void OnSegmented(SegmentationResult result, PSObject? fromNode) =>
        Measure(result, fromNode?.Properties["PSComputerName"]?.Value as string);

    private void Measure(SegmentationResult result, string? computer)
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
        // One feature: rows in its own shape; several: the long form, so one CSV holds them all (see FeatureRows).
        bool longForm = _kinds.Distinct().Count() > 1;
        foreach (var v in values)
        {
            if (v.Status != FeatureStatus.OK)
                WriteVerbose($"{result.FileName}: {v.Feature}{(v.Label != null ? " " + v.Label : "")}: {v.Status}. {v.Message}");
            if (longForm)
                foreach (var columns in FeatureRows.Long(v)) WriteObject(Row(columns, v.Feature, "Long", computer));
            else
                WriteObject(Row(FeatureRows.Shape(v), v.Feature, v.Feature, computer));
        }
    }

    /// <summary>
    /// A row as a flat object: exactly its columns as properties (what Export-Csv writes), typed
    /// Cxas.Features.FeatureValue#&lt;shape&gt; for its view; rows from a node name it, as Invoke-Command's output does.
    /// </summary>
    private static PSObject Row(IReadOnlyList<FeatureColumn> columns, string feature, string shape, string? computer)
    {
        var row = new PSObject();
        foreach (var column in columns) row.Properties.Add(new PSNoteProperty(column.Name, column.Value));
        if (computer != null) row.Properties.Add(new PSNoteProperty("PSComputerName", computer));
        row.TypeNames.Clear();
        row.TypeNames.Add("Cxas.Features.FeatureValue#" + shape);
        row.TypeNames.Add("Cxas.Features.FeatureValue");
        row.TypeNames.Add("System.Management.Automation.PSCustomObject");
        row.TypeNames.Add("System.Object");
        return row;
    }
}
