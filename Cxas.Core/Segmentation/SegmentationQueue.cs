using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading.Tasks;
using Cxas.Imaging;

namespace Cxas.Segmentation
{
    /// <summary>The outcome of one submitted file: a result or the error that stopped it.</summary>
    public sealed class SegmentationOutcome
    {
        public SegmentationOutcome(string path, SegmentationResult? result, Exception? error)
        {
            Path = path;
            Result = result;
            Error = error;
        }

        public string Path { get; }
        public SegmentationResult? Result { get; }
        public Exception? Error { get; }
    }

    /// <summary>
    /// Overlaps decoding of the next files with inference on the current one. Results come back in submission order;
    /// at most <see cref="Depth"/> files are in flight, so memory stays flat over long runs.
    /// </summary>
    public sealed class SegmentationQueue
    {
        private readonly Segmenter _segmenter;
        private readonly Queue<Task<SegmentationOutcome>> _inFlight = new Queue<Task<SegmentationOutcome>>();
        private Task _lastInference = Task.CompletedTask;

        public SegmentationQueue(Segmenter segmenter, int depth = 2)
        {
            _segmenter = segmenter;
            Depth = Math.Max(1, depth);
        }

        public int Depth { get; }
        public int Pending => _inFlight.Count;

        /// <summary>Queues a file; returns the outcomes that must be taken to keep within <see cref="Depth"/>.</summary>
        public IEnumerable<SegmentationOutcome> Submit(string path)
        {
            var done = new List<SegmentationOutcome>();
            while (_inFlight.Count >= Depth) done.Add(_inFlight.Dequeue().GetAwaiter().GetResult());

            var decode = Task.Run(() =>
            {
                var watch = Stopwatch.StartNew();
                var image = ImageLoader.Load(path);
                return (image, watch.Elapsed);
            });
            var previous = _lastInference;
            var inference = Task.Run(async () =>
            {
                // Inference runs one image at a time, in order; the next file decodes meanwhile.
                try { await previous.ConfigureAwait(false); } catch { }
                try
                {
                    var (image, decodeTime) = await decode.ConfigureAwait(false);
                    return new SegmentationOutcome(path, _segmenter.Segment(image, decodeTime), null);
                }
                catch (Exception ex)
                {
                    return new SegmentationOutcome(path, null, ex);
                }
            });
            _lastInference = inference;
            _inFlight.Enqueue(inference);
            return done;
        }

        /// <summary>Takes outcomes that are already finished, without waiting.</summary>
        public IEnumerable<SegmentationOutcome> TakeCompleted()
        {
            var done = new List<SegmentationOutcome>();
            while (_inFlight.Count > 0 && _inFlight.Peek().IsCompleted) done.Add(_inFlight.Dequeue().Result);
            return done;
        }

        /// <summary>Waits for the oldest outcome; null when nothing is in flight.</summary>
        public SegmentationOutcome? TakeNext() => _inFlight.Count == 0 ? null : _inFlight.Dequeue().GetAwaiter().GetResult();
    }
}
