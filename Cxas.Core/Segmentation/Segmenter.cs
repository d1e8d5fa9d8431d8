using System.Diagnostics;
using Cxas.Imaging;
using Cxas.Masks;
using Cxas.Models;
using Cxas.Inference;

namespace Cxas.Segmentation
{
    /// <summary>
    /// Runs one model on one device over decoded images, exactly as the reference pipeline does. Safe to call from
    /// several threads: the input buffers are reused, so filling one and running the model on it happen under one lock
    /// of this segmenter's (masks are built per call). Its session comes from the <see cref="ModelSessions"/> it is given,
    /// which owns it; given none, the segmenter makes a session of its own and disposes it with itself.
    /// </summary>
    public sealed class Segmenter : IDisposable
    {
        private readonly ModelSession _session;
        private readonly ModelSessions? _own;
        private readonly float[] _input;
        private readonly object _inputGate = new object();

        /// <param name="model">The model.</param>
        /// <param name="device">The device (Auto: CUDA when it can be used, else CPU).</param>
        /// <param name="sessions">The owner to take the session from (shared with its other users); null: one of the segmenter's own.</param>
        public Segmenter(CxasModel model, DeviceSpec device, ModelSessions? sessions = null)
        {
            if (sessions == null) sessions = _own = new ModelSessions();
            _session = sessions.Get(model, device);
            _input = new float[3 * _session.InputWidth * _session.InputHeight];
        }

        /// <summary>Disposes the session when it is the segmenter's own (a shared owner's stay with it).</summary>
        public void Dispose() => _own?.Dispose();

        public CxasModel Model => _session.Model;
        public DeviceSpec Device => _session.Device;
        /// <summary>Why Auto ran on CPU, when it did.</summary>
        public string? DeviceNote => _session.FallbackReason;
        /// <summary>True when the session was made from the cached optimised graph (<see cref="Cxas.Inference.OptimizedModelCache"/>).</summary>
        public bool FromCache => _session.FromCache;

        /// <summary>
        /// Nearest resize to the model's input size, ImageNet normalisation, inference, threshold, and masks stored
        /// at model resolution with the image's size for nearest upsampling on demand.
        /// </summary>
        public SegmentationResult Segment(SourceImage image, TimeSpan decodeTime)
        {
            var manifest = _session.Model.Manifest;
            var watch = Stopwatch.StartNew();
            var masks = new MaskSet(manifest.Labels, _session.InputWidth, _session.InputHeight, image.Width, image.Height);
            float cut = manifest.LogitThreshold;
            lock (_inputGate)
            {
                ModelInput.Fill(image.Raster, _session.InputWidth, _session.InputHeight, manifest.Input.Mean, manifest.Input.Std, _input);
                _session.Run(_input, logits => masks.SetFromLogits(logits, cut));
            }
            watch.Stop();
            var result = new SegmentationResult(image.Info, image.Width, image.Height, manifest.Name, _session.Model.Directory,
                _session.Device.ToString(), masks, decodeTime, watch.Elapsed, manifest.Version ?? "");
            result.HoldImageWeakly(image);
            return result;
        }

        /// <summary>
        /// Several decoded images in one inference (GPU batching; -BatchSize): the same steps as <see cref="Segment(SourceImage, TimeSpan)"/>
        /// per image, with one model run for all of them. Each result's inference time is its share of the batch's.
        /// </summary>
        public SegmentationResult[] SegmentBatch(IReadOnlyList<SourceImage> images, IReadOnlyList<TimeSpan> decodeTimes)
        {
            if (images.Count == 0) return Array.Empty<SegmentationResult>();
            if (decodeTimes.Count != images.Count) throw new ArgumentException("One decode time per image is needed.", nameof(decodeTimes));
            var manifest = _session.Model.Manifest;
            int w = _session.InputWidth, h = _session.InputHeight, size = 3 * w * h;
            var watch = Stopwatch.StartNew();
            var masks = new MaskSet[images.Count];
            for (int i = 0; i < images.Count; i++) masks[i] = new MaskSet(manifest.Labels, w, h, images[i].Width, images[i].Height);
            float cut = manifest.LogitThreshold;
            lock (_inputGate)
            {
                if (_batchInput == null || _batchInput.Length < images.Count * size) _batchInput = new float[images.Count * size];
                for (int i = 0; i < images.Count; i++)
                    ModelInput.Fill(images[i].Raster, w, h, manifest.Input.Mean, manifest.Input.Std, _batchInput.AsSpan(i * size, size));
                _session.RunBatch(_batchInput, images.Count, (i, logits) => masks[i].SetFromLogits(logits, cut));
            }
            watch.Stop();
            var share = TimeSpan.FromTicks(watch.Elapsed.Ticks / images.Count);
            var results = new SegmentationResult[images.Count];
            for (int i = 0; i < images.Count; i++)
                results[i] = new SegmentationResult(images[i].Info, images[i].Width, images[i].Height, manifest.Name, _session.Model.Directory,
                    _session.Device.ToString(), masks[i], decodeTimes[i], share, manifest.Version ?? "");
            for (int i = 0; i < images.Count; i++) results[i].HoldImageWeakly(images[i]);
            return results;
        }

        private float[]? _batchInput;

        /// <summary>Decodes a file with <paramref name="readers"/> (the built-in formats when null) and segments it.</summary>
        public SegmentationResult Segment(string path, ImageReaderConfiguration? readers = null)
        {
            var watch = Stopwatch.StartNew();
            var image = (readers ?? ImageReaderConfiguration.Default).Load(path);
            return Segment(image, watch.Elapsed);
        }
    }
}
