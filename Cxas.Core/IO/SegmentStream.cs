
namespace Cxas.IO
{
    /// <summary>
    /// A read-only, seekable view of some byte ranges of another stream, one after the other (the IDAT payloads of a
    /// PNG as one zlib stream; a PNG's critical chunks without its ancillary ones). The ranges are (offset, length) in
    /// the underlying stream, which is positioned on each read and not disposed.
    /// </summary>
    internal sealed class SegmentStream : Stream
    {
        private readonly Stream _base;
        private readonly long[] _offsets;
        private readonly long[] _lengths;
        private readonly long[] _starts; // position of each range within this view
        private readonly long _length;
        private long _position;
        private int _current;

        public SegmentStream(Stream baseStream, IReadOnlyList<(long Offset, long Length)> ranges)
        {
            _base = baseStream;
            _offsets = new long[ranges.Count];
            _lengths = new long[ranges.Count];
            _starts = new long[ranges.Count];
            for (int i = 0; i < ranges.Count; i++)
            {
                _offsets[i] = ranges[i].Offset;
                _lengths[i] = ranges[i].Length;
                _starts[i] = _length;
                _length += ranges[i].Length;
            }
        }

        /// <summary>The ranges that hold bytes [skip, skip + count) of the concatenation of <paramref name="ranges"/>.</summary>
        public static List<(long Offset, long Length)> Slice(IReadOnlyList<(long Offset, long Length)> ranges, long skip, long count)
        {
            var result = new List<(long, long)>();
            foreach (var (offset, length) in ranges)
            {
                if (count <= 0) break;
                if (skip >= length) { skip -= length; continue; }
                long n = Math.Min(length - skip, count);
                result.Add((offset + skip, n));
                count -= n;
                skip = 0;
            }
            return result;
        }

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => _length;

        public override long Position
        {
            get => _position;
            set
            {
                if (value < 0) throw new ArgumentOutOfRangeException(nameof(value));
                _position = value;
            }
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int total = 0;
            while (count > 0 && _position < _length)
            {
                if (_current >= _starts.Length || _position < _starts[_current] || _position >= _starts[_current] + _lengths[_current])
                {
                    _current = Array.BinarySearch(_starts, _position);
                    if (_current < 0) _current = ~_current - 1;
                    while (_lengths[_current] == 0) _current++; // empty ranges share their start with the next
                }
                long within = _position - _starts[_current];
                int n = (int)Math.Min(count, _lengths[_current] - within);
                _base.Position = _offsets[_current] + within;
                int got = _base.Read(buffer, offset, n);
                if (got <= 0) throw new EndOfStreamException("The file ended while it was being read.");
                total += got;
                offset += got;
                count -= got;
                _position += got;
            }
            return total;
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin == SeekOrigin.Begin ? offset : origin == SeekOrigin.Current ? _position + offset : _length + offset;
            return _position;
        }

        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
