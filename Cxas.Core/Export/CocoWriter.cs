using System.Text.Json;
using Cxas.IO;
using Cxas.Segmentation;

namespace Cxas.Export
{
    /// <summary>
    /// One COCO file for a whole run: categories numbered from 1 in model order, one image entry per result,
    /// one annotation per non-empty class with uncompressed RLE in COCO's column-major order (iscrowd 1), unique ids.
    /// Annotations stream into a temporary file; the file appears under its final name only on <see cref="Complete"/>.
    /// </summary>
    internal sealed class CocoWriter : IRunMaskFile
    {
        private readonly string _finalPath;
        private readonly string _tempPath;
        private readonly bool _overwrite;
        private readonly FileStream _stream;
        private readonly Utf8JsonWriter _json;
        private readonly List<(int Id, string FileName, int Width, int Height)> _images = new List<(int, string, int, int)>();
        private readonly IReadOnlyList<string> _labels;
        private readonly HashSet<int>? _only;
        private long _nextAnnotation = 1;
        private bool _done;

        public CocoWriter(string finalPath, IReadOnlyList<string> labels, IEnumerable<int>? onlyClasses, bool overwrite)
        {
            _finalPath = finalPath;
            _overwrite = overwrite;
            _labels = labels;
            _only = onlyClasses == null ? null : new HashSet<int>(onlyClasses);
            AtomicOutput.EnsureWritable(finalPath, overwrite);
            AtomicOutput.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(finalPath))!);
            _tempPath = AtomicOutput.TempNameFor(finalPath);
            try { _stream = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new CxasException(CxasErrorKind.WriteFailed, $"Cannot write '{finalPath}': {ex.Message}", finalPath, ex);
            }
            _json = new Utf8JsonWriter(_stream);
            _json.WriteStartObject();
            _json.WriteStartObject("info");
            _json.WriteString("description", "Cxas anatomy segmentation");
            _json.WriteString("version", typeof(CocoWriter).Assembly.GetName().Version?.ToString());
            _json.WriteString("date_created", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"));
            _json.WriteEndObject();
            _json.WriteStartArray("categories");
            for (int i = 0; i < labels.Count; i++)
            {
                if (_only != null && !_only.Contains(i)) continue;
                _json.WriteStartObject();
                _json.WriteNumber("id", i + 1);
                _json.WriteString("name", labels[i]);
                _json.WriteString("supercategory", "anatomy");
                _json.WriteEndObject();
            }
            _json.WriteEndArray();
            _json.WriteStartArray("annotations");
        }

        public string OutputPath => _finalPath;

        /// <summary>Adds one image and its non-empty classes; returns the number of annotations written.</summary>
        public int Add(SegmentationResult result)
        {
            if (result.Masks.Labels.Count != _labels.Count)
                throw new CxasException(CxasErrorKind.InvalidArgument,
                    $"'{result.Path}' was segmented with {result.Masks.Labels.Count} classes; this COCO file has {_labels.Count}.", result.Path);
            int imageId = _images.Count + 1;
            _images.Add((imageId, result.FileName, result.Width, result.Height));
            var masks = result.Masks;
            var counts = masks.PixelCounts;
            int written = 0;
            for (int c = 0; c < masks.Count; c++)
            {
                if (counts[c] == 0 || (_only != null && !_only.Contains(c))) continue;
                var box = masks.BoundingBox(c)!.Value;
                _json.WriteStartObject();
                _json.WriteNumber("id", _nextAnnotation++);
                _json.WriteNumber("image_id", imageId);
                _json.WriteNumber("category_id", c + 1);
                _json.WriteNumber("iscrowd", 1);
                _json.WriteNumber("area", counts[c]);
                _json.WriteStartArray("bbox");
                _json.WriteNumberValue(box.X);
                _json.WriteNumberValue(box.Y);
                _json.WriteNumberValue(box.Width);
                _json.WriteNumberValue(box.Height);
                _json.WriteEndArray();
                _json.WriteStartObject("segmentation");
                _json.WriteStartArray("size");
                _json.WriteNumberValue(result.Height);
                _json.WriteNumberValue(result.Width);
                _json.WriteEndArray();
                _json.WriteStartArray("counts");
                foreach (var run in masks.ColumnMajorRuns(c)) _json.WriteNumberValue(run);
                _json.WriteEndArray();
                _json.WriteEndObject();
                _json.WriteEndObject();
                written++;
            }
            try { _json.Flush(); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { throw WriteFailed(ex); }
            return written;
        }

        /// <summary>Writes the image list, closes the file and renames it into place.</summary>
        public void Complete()
        {
            if (_done) return;
            _json.WriteEndArray();
            _json.WriteStartArray("images");
            foreach (var image in _images)
            {
                _json.WriteStartObject();
                _json.WriteNumber("id", image.Id);
                _json.WriteString("file_name", image.FileName);
                _json.WriteNumber("width", image.Width);
                _json.WriteNumber("height", image.Height);
                _json.WriteEndObject();
            }
            _json.WriteEndArray();
            _json.WriteEndObject();
            _done = true;
            try
            {
                _json.Dispose();
                _stream.Dispose();
                AtomicOutput.Commit(_tempPath, _finalPath, _overwrite, isDirectory: false);
            }
            catch (Exception ex)
            {
                try { _stream.Dispose(); } catch (Exception) { }
                AtomicOutput.TryDelete(_tempPath);
                if (ex is IOException || ex is UnauthorizedAccessException) throw WriteFailed(ex);
                throw;
            }
        }

        private CxasException WriteFailed(Exception ex) =>
            new CxasException(CxasErrorKind.WriteFailed, $"Cannot write '{_finalPath}': {ex.Message}", _finalPath, ex);

        /// <summary>Without <see cref="Complete"/>, discards the temporary file.</summary>
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            try { _json.Dispose(); } catch (Exception) { }
            _stream.Dispose();
            AtomicOutput.TryDelete(_tempPath);
        }
    }
}
