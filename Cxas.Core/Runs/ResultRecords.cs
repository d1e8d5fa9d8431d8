using System.Security.Cryptography;
using System.Text;
using Cxas.Export;
using Cxas.IO;
using Cxas.Segmentation;

namespace Cxas.Runs
{
    /// <summary>
    /// What a run keeps of each finished input, so that a rerun answers it with the same result without decoding or
    /// segmenting it again: the result's transfer form (<see cref="ResultTransfer"/>: source, sizes, model, every mask
    /// bit; typically well under 1 MB) in <c>&lt;out&gt;/.cxas-results/&lt;32 hex digits of the SHA-256 of the input's
    /// full path&gt;.cxr</c>. Whatever the output formats (jpg is lossy, a label subset is partial), the record is the
    /// result itself. A record is written atomically once the input's outputs are all written; it is read only when it is
    /// a regular file (no link) of at most <see cref="ResultTransfer.MaxBytes"/> that names the same input, otherwise the
    /// input is segmented again (and the record written anew).
    /// </summary>
    internal sealed class ResultRecords
    {
        public const string FolderName = ".cxas-results";
        private readonly OutputPlan _plan;
        private readonly string _folder;

        public ResultRecords(OutputPlan plan)
        {
            _plan = plan;
            _folder = Path.Combine(plan.OutputDirectory, FolderName);
        }

        private string PathFor(string inputKey)
        {
            using var sha = SHA256.Create();
            var hash = sha.ComputeHash(Encoding.UTF8.GetBytes(inputKey));
            return Path.Combine(_folder, string.Concat(hash.Take(16).Select(b => b.ToString("x2"))) + ".cxr");
        }

        /// <summary>The result recorded for an input, or null (with the reason in <paramref name="why"/>) when there is none to trust.</summary>
        public SegmentationResult? Read(PlannedInput planned, out string? why)
        {
            why = null;
            var path = PathFor(planned.InputPath);
            try
            {
                _plan.EnsureNoLink(path);
                var info = new FileInfo(path);
                if (!info.Exists) { why = "no result record"; return null; }
                if (info.Length == 0 || info.Length > ResultTransfer.MaxBytes) { why = $"its result record '{path}' has {info.Length} bytes"; return null; }
                var result = ResultTransfer.Unpack(File.ReadAllBytes(path));
                var recorded = OutputPlan.IsRemote(result.Path) ? result.Path : Path.GetFullPath(result.Path);
                if (recorded != planned.InputPath) { why = $"its result record '{path}' names another input"; return null; }
                return result;
            }
            catch (Exception ex) when (ex is CxasException || ex is IOException || ex is UnauthorizedAccessException)
            {
                why = $"its result record '{path}' cannot be read: {ex.Message}";
                return null;
            }
        }

        /// <summary>Records a result (replacing an earlier record of the same input).</summary>
        public void Write(PlannedInput planned, SegmentationResult result)
        {
            var form = ResultTransfer.Pack(result);
            if (form == null) return; // beyond the transfer bound: a rerun segments it again
            var path = PathFor(planned.InputPath);
            _plan.PrepareDirectory(_folder);
            AtomicOutput.HideOnWindows(_folder);
            _plan.EnsureNoLink(path);
            AtomicOutput.WriteFile(path, overwrite: true, stream => stream.Write(form, 0, form.Length));
        }
    }
}
