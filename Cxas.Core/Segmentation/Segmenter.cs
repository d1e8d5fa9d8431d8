using System.Diagnostics;
using Cxas.Imaging;
using Cxas.Masks;
using Cxas.Models;

namespace Cxas.Segmentation
{
    /// <summary>Runs one model on one device over decoded images, exactly as the reference pipeline does.</summary>
    public sealed class Segmenter
    {
        private readonly ModelSession _session;
        private readonly float[] _input;

        public Segmenter(CxasModel model, DeviceSpec device)
        {
            _session = model.GetSession(device);
            _input = new float[3 * _session.InputWidth * _session.InputHeight];
        }

        public CxasModel Model => _session.Model;
        public DeviceSpec Device => _session.Device;
        /// <summary>Why Auto ran on CPU, when it did.</summary>
        public string? DeviceNote => _session.FallbackReason;

        /// <summary>
        /// Nearest resize to the model's input size, ImageNet normalisation, inference, threshold, and masks stored
        /// at model resolution with the image's size for nearest upsampling on demand.
        /// </summary>
        public SegmentationResult Segment(SourceImage image, TimeSpan decodeTime)
        {
            var manifest = _session.Model.Manifest;
            var watch = Stopwatch.StartNew();
            image.Raster.SampleNearest(_session.InputWidth, _session.InputHeight, manifest.Input.Mean, manifest.Input.Std, _input);
            var masks = new MaskSet(manifest.Labels, _session.InputWidth, _session.InputHeight, image.Width, image.Height);
            float cut = manifest.LogitThreshold;
            _session.Run(_input, logits => masks.SetFromLogits(logits, cut));
            watch.Stop();
            var result = new SegmentationResult(image.Info, image.Width, image.Height, manifest.Name, _session.Model.Directory,
                _session.Device.ToString(), masks, decodeTime, watch.Elapsed) { ModelVersion = manifest.Version ?? "" };
            result.HoldImageWeakly(image);
            return result;
        }

        public SegmentationResult Segment(string path)
        {
            var watch = Stopwatch.StartNew();
            var image = ImageLoader.Load(path);
            return Segment(image, watch.Elapsed);
        }
    }
}
