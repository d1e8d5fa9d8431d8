using System.Diagnostics;
using Cxas.Models;

namespace Cxas.Provisioning
{
    /// <summary>Bytes per second over the last few seconds.</summary>
    internal sealed class RateMeter
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly System.Collections.Generic.Queue<(long Ms, long Bytes)> _window = new System.Collections.Generic.Queue<(long, long)>();
        private long _bytes;

        public void Add(int n)
        {
            long now = _clock.ElapsedMilliseconds;
            _bytes += n;
            _window.Enqueue((now, _bytes));
            while (_window.Count > 2 && now - _window.Peek().Ms > 5000) _window.Dequeue();
        }

        public double BytesPerSecond
        {
            get
            {
                if (_window.Count < 2) return 0;
                var first = _window.Peek();
                long ms = _clock.ElapsedMilliseconds - first.Ms;
                return ms <= 0 ? 0 : (_bytes - first.Bytes) * 1000.0 / ms;
            }
        }
    }

    /// <summary>
    /// Bytes over the last <see cref="DownloadOptions.ReadTimeout"/>: fewer than the slowest rate taken as alive is a
    /// stall (a server sending a byte now and then never lets a read time out).
    /// </summary>
    internal sealed class StallWindow
    {
        private readonly DownloadOptions _options;
        private readonly Stopwatch _clock;
        private long _start, _bytes;

        public StallWindow(DownloadOptions options, Stopwatch clock)
        {
            _options = options;
            _clock = clock;
            _start = clock.ElapsedMilliseconds;
        }

        public void Add(int n)
        {
            _bytes += n;
            long span = _clock.ElapsedMilliseconds - _start;
            if (span < _options.ReadTimeout.TotalMilliseconds) return;
            if (_bytes < _options.MinimumBytesPerSecond * span / 1000)
                throw new TimeoutException($"{_bytes} bytes in {ModelDownloader.Seconds(TimeSpan.FromMilliseconds(span))}, slower than {_options.MinimumBytesPerSecond} bytes/s");
            _start += span;
            _bytes = 0;
        }
    }
}
