using System;
using System.Collections.Generic;
using System.Linq;
using Cxas.Imaging;
using Cxas.Masks;

namespace Cxas.Segmentation
{
    /// <summary>
    /// One image's segmentation: where it came from, which model and device, and every class's mask.
    /// Scalar properties are what tables and CSV exports show; <see cref="PixelCounts"/> and <see cref="Present"/>
    /// are indexed by class name (case-insensitive); <see cref="GetMask(string)"/> gives one class at full resolution.
    /// </summary>
    public sealed class SegmentationResult
    {
        private readonly Dictionary<string, long> _counts;
        private readonly Dictionary<string, bool> _present;

        public SegmentationResult(SourceInfo source, int width, int height, string modelName, string modelDirectory,
            string device, MaskSet masks, TimeSpan decodeTime, TimeSpan inferenceTime)
        {
            Source = source;
            Width = width;
            Height = height;
            Model = modelName;
            ModelDirectory = modelDirectory;
            Device = device;
            Masks = masks;
            DecodeTime = decodeTime;
            InferenceTime = inferenceTime;
            _counts = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
            _present = new Dictionary<string, bool>(StringComparer.OrdinalIgnoreCase);
            var counts = masks.PixelCounts;
            for (int i = 0; i < masks.Count; i++)
            {
                _counts[masks.Labels[i]] = counts[i];
                _present[masks.Labels[i]] = counts[i] > 0;
            }
        }

        public string Path => Source.Path;
        public string FileName => System.IO.Path.GetFileName(Source.Path);
        /// <summary>File name without its extension: the name the reference's output layout uses.</summary>
        public string Stem => System.IO.Path.GetFileNameWithoutExtension(Source.Path);
        public string Format => Source.Format;
        public int Width { get; }
        public int Height { get; }
        public string Model { get; }
        public string ModelDirectory { get; }
        public string Device { get; }
        public int ClassCount => Masks.Count;
        public int PresentCount => _present.Values.Count(v => v);
        /// <summary>Names of the classes found, in model order, joined with "; " (a CSV-friendly column).</summary>
        public string PresentLabels => string.Join("; ", Masks.Labels.Where(l => _present[l]));
        public IReadOnlyDictionary<string, long> PixelCounts => _counts;
        public IReadOnlyDictionary<string, bool> Present => _present;
        public TimeSpan DecodeTime { get; }
        public TimeSpan InferenceTime { get; }
        public double DecodeMs => Math.Round(DecodeTime.TotalMilliseconds, 1);
        public double InferenceMs => Math.Round(InferenceTime.TotalMilliseconds, 1);
        public SourceInfo Source { get; }
        public MaskSet Masks { get; }
        public double? RowSpacingMm => Source.RowSpacingMm;
        public double? ColumnSpacingMm => Source.ColumnSpacingMm;

        public BinaryMask GetMask(string label) => Masks.GetMask(label);

        public override string ToString() => $"{FileName}: {PresentCount}/{ClassCount} classes";
    }
}
