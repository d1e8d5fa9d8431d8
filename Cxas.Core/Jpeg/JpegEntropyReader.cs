
namespace Cxas.Jpeg
{
    /// <summary>
    /// A Huffman table of a JPEG stream (ITU T.81 C): codes up to 9 bits in one look-up, longer ones through the
    /// canonical MaxCode/ValOffset arrays.
    /// </summary>
    internal sealed class JpegHuffmanTable
    {
        public readonly ushort[] Fast = new ushort[1 << 9]; // (length << 8) | symbol, 0 = longer code
        public readonly int[] MaxCode = new int[18];
        public readonly int[] ValOffset = new int[18];
        public byte[] Values = Array.Empty<byte>();
        // Lossless only: symbol and its extra bits decoded in one look-up of the next 11 bits (length 0 = use the slow path).
        public int[]? PairDiff;
        public byte[]? PairLength;
    }

    /// <summary>
    /// What every reader of Huffman-coded JPEG shares, in stream order: the marker walk over a byte range, the table
    /// segments (DHT, DQT), and the entropy-coded bit reader (64-bit accumulator, stuffed 0xFF00 bytes removed, zero
    /// bits supplied once a marker or the end of the range is reached, restart markers stepped over), with the decoding
    /// of one sequential block's coefficients. The DICOM decoder (<c>Cxas.Dicom.Codecs.JpegDecoder</c>) tolerates data that run
    /// out, as other DICOM readers do; a checker can ask <see cref="RanOut"/> whether any supplied zero bit was used.
    /// </summary>
    internal abstract class JpegEntropyReader
    {
        protected static readonly byte[] ZigZag =
        {
            0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
            28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
            54, 47, 55, 62, 63,
        };

        protected readonly byte[] _d;
        protected readonly int _end;
        protected readonly Func<string, Exception> _fail;
        protected readonly JpegHuffmanTable?[] _dc = new JpegHuffmanTable?[4];
        protected readonly JpegHuffmanTable?[] _ac = new JpegHuffmanTable?[4];
        protected readonly int[][] _q = new int[4][];
        protected int _restartInterval;

        // bit reader state
        protected int _pos;
        protected ulong _acc;
        protected int _bits;
        protected bool _markerHit;
        private long _padded; // zero bytes supplied past a marker or the end since the last reset

        protected JpegEntropyReader(byte[] data, int offset, int length, Func<string, Exception> fail)
        {
            _d = data;
            _pos = offset;
            _end = offset + length;
            _fail = fail;
        }

        // ---------------------------------------------------------------- markers and table segments

        /// <summary>Position after the next marker (returns its code), or -1 at the end of data.</summary>
        protected int NextMarker()
        {
            while (_pos + 1 < _end)
            {
                if (_d[_pos] == 0xFF && _d[_pos + 1] != 0xFF && _d[_pos + 1] != 0x00)
                {
                    int m = _d[_pos + 1];
                    _pos += 2;
                    return m;
                }
                _pos++;
            }
            _pos = _end;
            return -1;
        }

        /// <summary>After a scan: steps over what is left of its entropy-coded data to the next marker other than RSTn.</summary>
        protected void SkipToMarker()
        {
            while (_pos + 1 < _end && !(_d[_pos] == 0xFF && _d[_pos + 1] != 0x00 && !(_d[_pos + 1] >= 0xD0 && _d[_pos + 1] <= 0xD7))) _pos++;
        }

        protected void ReadHuffman(int p, int end)
        {
            while (p < end)
            {
                if (end - p < 17) throw _fail("a JPEG Huffman table is cut off.");
                int tc = _d[p] >> 4, th = _d[p] & 15;
                if (tc > 1 || th > 3) throw _fail("a JPEG Huffman table has an invalid class or id.");
                var counts = new int[17];
                int total = 0;
                for (int i = 1; i <= 16; i++) { counts[i] = _d[p + i]; total += counts[i]; }
                p += 17;
                if (total > 256 || end - p < total) throw _fail("a JPEG Huffman table is cut off.");
                var t = new JpegHuffmanTable { Values = new byte[total] };
                Array.Copy(_d, p, t.Values, 0, total);
                p += total;
                int code = 0, k = 0;
                for (int len = 1; len <= 16; len++)
                {
                    t.ValOffset[len] = k - code;
                    for (int i = 0; i < counts[len]; i++)
                    {
                        if (len <= 9)
                        {
                            int shift = 9 - len;
                            int first = code << shift;
                            int last = first + (1 << shift);
                            if (last > t.Fast.Length) throw _fail("a JPEG Huffman table has too many codes.");
                            for (int f = first; f < last; f++) t.Fast[f] = (ushort)((len << 8) | t.Values[k]);
                        }
                        code++;
                        k++;
                    }
                    t.MaxCode[len] = counts[len] > 0 ? code - 1 : -1;
                    if (code > (1 << len)) throw _fail("a JPEG Huffman table has too many codes.");
                    code <<= 1;
                }
                t.MaxCode[17] = int.MaxValue;
                if (tc == 0) _dc[th] = t; else _ac[th] = t;
            }
        }

        protected void ReadQuant(int p, int end)
        {
            while (p < end)
            {
                int pq = _d[p] >> 4, tq = _d[p] & 15;
                if (tq > 3 || pq > 1) throw _fail("a JPEG quantisation table has an invalid id or precision.");
                int size = pq == 0 ? 64 : 128;
                if (end - p - 1 < size) throw _fail("a JPEG quantisation table is cut off.");
                var q = new int[64];
                for (int i = 0; i < 64; i++) q[i] = pq == 0 ? _d[p + 1 + i] : (_d[p + 1 + 2 * i] << 8) | _d[p + 2 + 2 * i];
                _q[tq] = q;
                p += 1 + size;
            }
        }

        // ---------------------------------------------------------------- bit reading

        /// <summary>Empties the bit reader at the start of a scan.</summary>
        protected void ResetBits()
        {
            _acc = 0;
            _bits = 0;
            _markerHit = false;
            _padded = 0;
        }

        /// <summary>Whether the data since the last reset ran out: a bit supplied past a marker or the end was consumed.</summary>
        protected bool RanOut => _padded * 8 > _bits;

        protected void Fill()
        {
            while (_bits <= 56)
            {
                int b = 0;
                if (!_markerHit && _pos < _end)
                {
                    b = _d[_pos];
                    if (b == 0xFF)
                    {
                        int next = _pos + 1 < _end ? _d[_pos + 1] : 0xD9;
                        if (next == 0x00) _pos += 2;
                        else { _markerHit = true; b = 0; _padded++; }
                    }
                    else _pos++;
                }
                else _padded++;
                _acc |= (ulong)b << (56 - _bits);
                _bits += 8;
            }
        }

        protected int DecodeSymbol(JpegHuffmanTable t)
        {
            if (_bits < 16) Fill();
            int look = (int)(_acc >> 55);
            int e = t.Fast[look];
            if (e != 0)
            {
                int len = e >> 8;
                _acc <<= len;
                _bits -= len;
                return e & 0xFF;
            }
            int code16 = (int)(_acc >> 48);
            for (int len = 10; len <= 16; len++)
            {
                int code = code16 >> (16 - len);
                if (code <= t.MaxCode[len])
                {
                    _acc <<= len;
                    _bits -= len;
                    int index = code + t.ValOffset[len];
                    if (index < 0 || index >= t.Values.Length) throw _fail("the JPEG data holds an invalid Huffman code.");
                    return t.Values[index];
                }
            }
            throw _fail("the JPEG data holds an invalid Huffman code.");
        }

        /// <summary>The next <paramref name="n"/> bits (0-16) as an unsigned number.</summary>
        protected int ReadBits(int n)
        {
            if (n == 0) return 0;
            if (_bits < n) Fill();
            int v = (int)(_acc >> (64 - n));
            _acc <<= n;
            _bits -= n;
            return v;
        }

        protected int ReceiveExtend(int s)
        {
            if (s == 0) return 0;
            int v = ReadBits(s);
            return v < (1 << (s - 1)) ? v - (1 << s) + 1 : v;
        }

        /// <summary>
        /// At a restart interval boundary: drops buffered bits and steps over the RSTn marker. Returns false when another
        /// marker or the end comes first (corrupt data; the DICOM decoder goes on with zeros).
        /// </summary>
        protected bool Restart()
        {
            ResetBits();
            while (_pos + 1 < _end)
            {
                if (_d[_pos] == 0xFF && _d[_pos + 1] >= 0xD0 && _d[_pos + 1] <= 0xD7) { _pos += 2; return true; }
                if (_d[_pos] == 0xFF && _d[_pos + 1] != 0x00 && _d[_pos + 1] != 0xFF) return false;
                _pos++;
            }
            return false;
        }

        /// <summary>
        /// The entropy-coded coefficients of one sequential DCT block (T.81 F.2.2): returns the DC difference and, when
        /// <paramref name="coef"/> is given, stores each AC coefficient times <paramref name="q"/> at its natural position.
        /// </summary>
        protected int DecodeBlockCoefficients(JpegHuffmanTable dc, JpegHuffmanTable ac, int[]? coef, int[]? q)
        {
            int t = DecodeSymbol(dc);
            if (t > 16) throw _fail("the JPEG data holds a DC difference category above 16.");
            int diff = ReceiveExtend(t);
            for (int k = 1; k < 64;)
            {
                int rs = DecodeSymbol(ac);
                int r = rs >> 4, s = rs & 15;
                if (s == 0)
                {
                    if (r != 15) break;
                    k += 16;
                    continue;
                }
                k += r;
                if (k > 63) throw _fail("the JPEG data runs past the end of a block.");
                int v = ReceiveExtend(s);
                if (coef != null) coef[ZigZag[k]] = v * q![k];
                k++;
            }
            return diff;
        }
    }
}
