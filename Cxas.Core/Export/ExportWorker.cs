using System;
using System.Collections.Generic;
using System.Threading;
using Cxas.Segmentation;

namespace Cxas.Export
{
    // Export overlapped with inference: results go into a bounded queue that one worker thread drains in order,
    // writing each through the given export action while the caller segments the next image.
    //   Add(result)   -> waits while Capacity results are pending (memory stays flat), then queues it;
    //   worker        -> export(result), then hands the outcome (record or error) to the caller's queue of outcomes;
    //   TakeCompleted -> outcomes finished so far, in submission order; Complete() -> waits for the rest.
    // A failed export is reported as that result's outcome; the worker goes on with the next one.

    /// <summary>What the worker did with one result.</summary>
    public sealed class ExportOutcome
    {
        public ExportOutcome(SegmentationResult result, IReadOnlyList<MaskExportRecord> records, Exception? error)
        {
            Result = result; Records = records; Error = error;
        }

        public SegmentationResult Result { get; }
        public IReadOnlyList<MaskExportRecord> Records { get; }
        public Exception? Error { get; }
    }

    /// <summary>Writes results on its own thread, at most <see cref="Capacity"/> waiting; see the note at the top of the file.</summary>
    public sealed class ExportWorker : IDisposable
    {
        private readonly Func<SegmentationResult, IReadOnlyList<MaskExportRecord>> _export;
        private readonly Queue<SegmentationResult> _pending = new Queue<SegmentationResult>();
        private readonly Queue<ExportOutcome> _done = new Queue<ExportOutcome>();
        private readonly object _gate = new object();
        private readonly Thread _thread;
        private bool _closed;
        private bool _busy;

        public ExportWorker(Func<SegmentationResult, IReadOnlyList<MaskExportRecord>> export, int capacity = 2)
        {
            _export = export;
            Capacity = Math.Max(1, capacity);
            _thread = new Thread(Work) { IsBackground = true, Name = "Cxas export" };
            _thread.Start();
        }

        /// <summary>An exporter's <see cref="MaskExporter.Export"/> as the worker's action.</summary>
        public static ExportWorker For(MaskExporter exporter, int capacity = 2) => new ExportWorker(r => exporter.Export(r), capacity);

        /// <summary>Most results waiting or being written at once.</summary>
        public int Capacity { get; }

        /// <summary>Largest number of results that were waiting or being written at one time (for tests and benchmarks).</summary>
        public int MaxInFlight { get; private set; }

        /// <summary>Queues a result, waiting while <see cref="Capacity"/> are already in flight.</summary>
        public void Add(SegmentationResult result)
        {
            lock (_gate)
            {
                if (_closed) throw new InvalidOperationException("The export worker was completed.");
                while (_pending.Count + (_busy ? 1 : 0) >= Capacity) Monitor.Wait(_gate);
                _pending.Enqueue(result);
                MaxInFlight = Math.Max(MaxInFlight, _pending.Count + (_busy ? 1 : 0));
                Monitor.PulseAll(_gate);
            }
        }

        /// <summary>Outcomes finished so far, in submission order, without waiting.</summary>
        public IReadOnlyList<ExportOutcome> TakeCompleted()
        {
            lock (_gate)
            {
                var list = new List<ExportOutcome>(_done);
                _done.Clear();
                return list;
            }
        }

        /// <summary>Waits until every queued result is written and returns the outcomes not yet taken.</summary>
        public IReadOnlyList<ExportOutcome> Complete()
        {
            lock (_gate)
            {
                _closed = true;
                Monitor.PulseAll(_gate);
            }
            _thread.Join();
            return TakeCompleted();
        }

        private void Work()
        {
            while (true)
            {
                SegmentationResult next;
                lock (_gate)
                {
                    while (_pending.Count == 0 && !_closed) Monitor.Wait(_gate);
                    if (_pending.Count == 0) return;
                    next = _pending.Dequeue();
                    _busy = true;
                }
                ExportOutcome outcome;
                try { outcome = new ExportOutcome(next, _export(next), null); }
                catch (Exception ex) { outcome = new ExportOutcome(next, Array.Empty<MaskExportRecord>(), ex); }
                lock (_gate)
                {
                    _busy = false;
                    _done.Enqueue(outcome);
                    Monitor.PulseAll(_gate);
                }
            }
        }

        public void Dispose()
        {
            if (_thread.IsAlive) Complete();
        }
    }
}
