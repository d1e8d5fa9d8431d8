using System.Diagnostics;
using System.Threading.Tasks;
using Cxas.Imaging;

namespace Cxas.Segmentation
{
    /// <summary>The outcome of one submitted file: a result or the error that stopped it.</summary>
    public sealed class SegmentationOutcome
    {
        public SegmentationOutcome(string path, SegmentationResult? result, Exception? error, bool reused = false)
        {
            Path = path;
            Result = result;
            Error = error;
            Reused = reused;
        }

        public string Path { get; }
        public SegmentationResult? Result { get; }
        public Exception? Error { get; }
        /// <summary>A result not computed by this queue (an earlier run's, handed in with <see cref="SegmentationQueue.SubmitDone"/>).</summary>
        public bool Reused { get; }
    }

    /// <summary>
    /// Overlaps decoding of the next files with inference on the current one. Results come back in submission order;
    /// at most <see cref="Depth"/> files are in flight, so memory stays flat over long runs.
    /// <para>
    /// Each file is one task: decode, then inference under a lock (the segmenter's input buffer is shared, and one
    /// inference at a time is what the cores can do). Tasks never refer to one another, so a finished task holds only
    /// its own outcome, and once taken nothing keeps it or its decoded image alive.
    /// </para>
    /// <para>
    /// With a batch size above 1 (GPUs, where one run over several images is faster than several runs), tasks only
    /// decode; once a batch's worth of files is decoded, one <see cref="Segmenter.SegmentBatch"/> runs over the images that
    /// decoded, and the files that failed keep their place with their error. At most one batch of decoded images is held.
    /// </para>
    /// </summary>
    public sealed class SegmentationQueue
    {
        private readonly Segmenter _segmenter;
        private readonly ImageReaderConfiguration _readers;
        private readonly Queue<Task<SegmentationOutcome>> _inFlight = new Queue<Task<SegmentationOutcome>>();
        private readonly object _inferenceGate = new object();

        /// <summary>A queue over <paramref name="segmenter"/>: at most <paramref name="depth"/> files in flight,
        /// <paramref name="batchSize"/> images per model run, files decoded with <paramref name="readers"/> (default:
        /// <see cref="ImageReaderConfiguration.Default"/>; inputs that bring their own loader, DICOMweb and DIMSE
        /// instances, use it instead).</summary>
        public SegmentationQueue(Segmenter segmenter, int depth = 2, int batchSize = 1, ImageReaderConfiguration? readers = null)
        {
            _segmenter = segmenter;
            _readers = readers ?? ImageReaderConfiguration.Default;
            Depth = Math.Max(1, depth);
            BatchSize = Math.Max(1, batchSize);
        }

        public int Depth { get; }
        /// <summary>Images per model run (1: one at a time, overlapped with decoding).</summary>
        public int BatchSize { get; }
        public int Pending => _inFlight.Count + _decoding.Count + _ready.Count;

        private sealed class Decoded
        {
            public InputFile Input = null!;
            public SourceImage? Image;
            public TimeSpan DecodeTime;
            public Exception? Error;
        }

        private readonly Queue<Task<Decoded>> _decoding = new Queue<Task<Decoded>>();
        private readonly Queue<SegmentationOutcome> _ready = new Queue<SegmentationOutcome>();

        /// <summary>Queues a file; returns the outcomes that must be taken to keep within <see cref="Depth"/>.</summary>
        public IEnumerable<SegmentationOutcome> Submit(string path) => Submit(new InputFile(path));

        /// <summary>Queues a file found by a scan (its relative path is kept on the result).</summary>
        public IEnumerable<SegmentationOutcome> Submit(InputFile input)
        {
            if (BatchSize > 1) return SubmitToBatch(input);
            var done = new List<SegmentationOutcome>();
            while (_inFlight.Count >= Depth) done.Add(_inFlight.Dequeue().GetAwaiter().GetResult());
            _inFlight.Enqueue(Task.Run(() => Process(input)));
            return done;
        }

        /// <summary>
        /// Queues an outcome that is already known (an earlier run's result), so that it comes out in its place among
        /// the files submitted; a batch being gathered is run first.
        /// </summary>
        public IEnumerable<SegmentationOutcome> SubmitDone(SegmentationOutcome outcome)
        {
            var done = new List<SegmentationOutcome>();
            if (BatchSize > 1)
            {
                if (_decoding.Count > 0) RunBatch();
                _ready.Enqueue(outcome);
                done.AddRange(_ready);
                _ready.Clear();
                return done;
            }
            while (_inFlight.Count >= Depth) done.Add(_inFlight.Dequeue().GetAwaiter().GetResult());
            _inFlight.Enqueue(Task.FromResult(outcome));
            return done;
        }

        private IEnumerable<SegmentationOutcome> SubmitToBatch(InputFile input)
        {
            _decoding.Enqueue(Task.Run(() => Decode(input)));
            if (_decoding.Count >= BatchSize) RunBatch();
            var done = _ready.ToList();
            _ready.Clear();
            return done;
        }

        /// <summary>Decodes an input with its source complete: where it was found below a scanned folder included.</summary>
        private SourceImage Load(InputFile input)
        {
            var image = input.Load != null ? input.Load(_readers) : _readers.Load(input.Path);
            var info = image.Info.WithRelativePath(input.RelativePath);
            return ReferenceEquals(info, image.Info) ? image : new SourceImage(image.Raster, info);
        }

        private Decoded Decode(InputFile input)
        {
            var decoded = new Decoded { Input = input };
            try
            {
                var watch = Stopwatch.StartNew();
                decoded.Image = Load(input);
                decoded.DecodeTime = watch.Elapsed;
            }
            catch (Exception ex)
            {
                decoded.Error = ex;
            }
            return decoded;
        }

        /// <summary>Segments the decoded files waiting (up to one batch) in one model run; outcomes go to the ready queue in order.</summary>
        private void RunBatch()
        {
            var batch = new List<Decoded>();
            while (batch.Count < BatchSize && _decoding.Count > 0) batch.Add(_decoding.Dequeue().GetAwaiter().GetResult());
            var images = batch.Where(d => d.Image != null).ToList();
            SegmentationResult[] results;
            Exception? failure = null;
            try
            {
                results = _segmenter.SegmentBatch(images.Select(d => d.Image!).ToList(), images.Select(d => d.DecodeTime).ToList());
            }
            catch (Exception ex)
            {
                results = Array.Empty<SegmentationResult>();
                failure = ex;
            }
            int next = 0;
            foreach (var d in batch)
            {
                if (d.Image == null) _ready.Enqueue(new SegmentationOutcome(d.Input.Path, null, d.Error));
                else if (failure != null) _ready.Enqueue(new SegmentationOutcome(d.Input.Path, null, failure));
                else _ready.Enqueue(new SegmentationOutcome(d.Input.Path, results[next++], null));
            }
        }

        private SegmentationOutcome Process(InputFile input)
        {
            try
            {
                var watch = Stopwatch.StartNew();
                var image = Load(input);
                var decodeTime = watch.Elapsed;
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
            while (_ready.Count > 0) done.Add(_ready.Dequeue());
            while (_inFlight.Count > 0 && _inFlight.Peek().IsCompleted) done.Add(_inFlight.Dequeue().Result);
            return done;
        }

        /// <summary>Waits for the oldest outcome; null when nothing is in flight.</summary>
        public SegmentationOutcome? TakeNext()
        {
            if (_ready.Count == 0 && _decoding.Count > 0) RunBatch();
            if (_ready.Count > 0) return _ready.Dequeue();
            return _inFlight.Count == 0 ? null : _inFlight.Dequeue().GetAwaiter().GetResult();
        }
    }
}
