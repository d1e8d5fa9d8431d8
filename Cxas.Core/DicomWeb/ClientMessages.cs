using System.Collections.Concurrent;

namespace Cxas.DicomWeb
{
    /// <summary>
    /// The messages one client made (requests, retries, fallbacks), kept for whoever uses that client: a queue that any
    /// thread may add to and take from, holding the last <see cref="Capacity"/> (older ones are dropped first), so that
    /// a client nobody reads from does not grow without bound.
    /// </summary>
    internal sealed class ClientMessages
    {
        public const int Capacity = 1000;
        private readonly ConcurrentQueue<string> _queue = new ConcurrentQueue<string>();

        public void Add(string message)
        {
            _queue.Enqueue(message);
            while (_queue.Count > Capacity && _queue.TryDequeue(out _)) { }
        }

        /// <summary>Empties the queue, oldest first.</summary>
        public IReadOnlyList<string> Take()
        {
            var taken = new List<string>();
            while (_queue.TryDequeue(out var message)) taken.Add(message);
            return taken;
        }
    }
}
