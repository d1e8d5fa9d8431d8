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
    /// <para>
    /// Each file is one task: decode, then inference under a lock (the segmenter's input buffer is shared, and one
    /// inference at a time is what the cores can do). Tasks never refer to one another, so a finished task holds only
    /// its own outcome, and once taken nothing keeps it or its decoded image alive.
    /// </para>
    /// </summary>
    public sealed class SegmentationQueue
    {
        private readonly Segmenter _segmenter;
        private readonly Queue<Task<SegmentationOutcome>> _inFlight = new Queue<Task<SegmentationOutcome>>();
        private readonly object _inferenceGate = new object();

        public SegmentationQueue(Segmenter segmenter, int depth = 2)
        {
            _segmenter = segmenter;
            Depth = Math.Max(1, depth);
        }

        public int Depth { get; }
        public int Pending => _inFlight.Count;

        /// <summary>Queues a file; returns the outcomes that must be taken to keep within <see cref="Depth"/>.</summary>
        public IEnumerable<SegmentationOutcome> Submit(string path) => Submit(new InputFile(path));

        /// <summary>Queues a file found by a scan (its relative path is kept on the result).</summary>
        public IEnumerable<SegmentationOutcome> Submit(InputFile input)
        {
            var done = new List<SegmentationOutcome>();
            while (_inFlight.Count >= Depth) done.Add(_inFlight.Dequeue().GetAwaiter().GetResult());
            _inFlight.Enqueue(Task.Run(() => Process(input)));
            return done;
        }

        private SegmentationOutcome Process(InputFile input)
        {
            try
            {
                var watch = Stopwatch.StartNew();
                var image = input.Load != null ? input.Load() : ImageLoader.Load(input.Path);
                var decodeTime = watch.Elapsed;
                image.Info.RelativePath = input.RelativePath;
                lock (_inferenceGate)
                    return new SegmentationOutcome(input.Path, _segmenter.Segment(image, decodeTime), null);
            }
            catch (Exception ex)
            {
                return new SegmentationOutcome(input.Path, null, ex);
            }
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
