namespace Cxas.Precision
{
    /// <summary>
    /// A stage of an import or a precision conversion, for progress reports. It lives with the conversion, the lower of
    /// the two steps (an import converts, a conversion never imports), so that both report the same way without the
    /// conversion naming the importer.
    /// </summary>
    public sealed class ImportProgress
    {
        public ImportProgress(string stage, int percent, string detail) { Stage = stage; Percent = percent; Detail = detail; }
        public string Stage { get; }
        /// <summary>0..100 within the stage, or -1 when unknown.</summary>
        public int Percent { get; }
        public string Detail { get; }
    }
}
