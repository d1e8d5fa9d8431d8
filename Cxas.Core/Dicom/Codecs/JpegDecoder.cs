using Cxas.Jpeg;

namespace Cxas.Dicom.Codecs
{
    /// <summary>
    /// Huffman-coded JPEG as DICOM uses it (ITU T.81): sequential DCT with 8- or 12-bit samples (processes 1, 2, 4:
    /// transfer syntaxes .50 and .51) and lossless (process 14, SOF3) with all seven predictors, point transform and
    /// 2-16 bit precision (.57 and .70). Progressive, hierarchical and arithmetic-coded JPEG are refused as not supported.
    /// DCT output is rounded and clamped to the sample range; subsampled planes are brought to full resolution as libjpeg does (<see cref="ChromaUpsampling"/>).
    /// </summary>
    internal sealed class JpegDecoder : JpegEntropyReader
    {
        private static readonly float[] IdctCos = BuildCosines();

        private sealed class Component
        {
            public int Id, H, V, Tq;
            public int BlocksX, BlocksY; // padded block grid of the plane
            public int PlaneWidth, PlaneHeight;
            public int[] Plane = Array.Empty<int>();
            public int DcTable, AcTable, DcPred;
        }

        private const int PairBits = 11;

        /// <summary>Builds the one-step table of a lossless DC table: every 11-bit prefix holding a whole code and its extra bits.</summary>
        private static void BuildPairs(JpegHuffmanTable t)
        {
            var diff = new int[1 << PairBits];
            var length = new byte[1 << PairBits];
            for (int look = 0; look < diff.Length; look++)
            {
                int e = t.Fast[look >> (PairBits - 9)];
                if (e == 0) continue;
                int len = e >> 8, s = e & 0xFF;
                if (s == 0) { diff[look] = 0; length[look] = (byte)len; }
                else if (s == 16) { diff[look] = 32768; length[look] = (byte)len; }
                else if (s < 16 && len + s <= PairBits)
                {
                    int v = (look >> (PairBits - len - s)) & ((1 << s) - 1);
                    diff[look] = v < (1 << (s - 1)) ? v - (1 << s) + 1 : v;
                    length[look] = (byte)(len + s);
                }
            }
            t.PairDiff = diff;
            t.PairLength = length;
        }

        private readonly Func<string, Exception> _unsupported;
        private int _width, _height, _precision, _hmax = 1, _vmax = 1;
        private bool _lossless;
        private Component[] _components = Array.Empty<Component>();

        private JpegDecoder(byte[] data, int offset, int length, Func<string, Exception> fail, Func<string, Exception> unsupported)
            : base(data, offset, length, fail)
        {
            _unsupported = unsupported;
        }

        /// <summary>The JPEG transfer syntaxes this decoder handles, for <see cref="FrameDecoders"/>.</summary>
        public static FrameDecoder FrameDecoder { get; } = new JpegFrameDecoder();

        private sealed class JpegFrameDecoder : CodecFrameDecoder
        {
            public JpegFrameDecoder() : base(
                new TransferSyntax(TransferSyntaxes.JpegBaseline, "JPEG Baseline (Process 1)"),
                new TransferSyntax(TransferSyntaxes.JpegExtended, "JPEG Extended (Process 2 & 4)"),
                new TransferSyntax(TransferSyntaxes.JpegLossless, "JPEG Lossless, Non-Hierarchical (Process 14)"),
                new TransferSyntax(TransferSyntaxes.JpegLosslessSv1, "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, Selection Value 1)")) { }

            protected override DecodedFrame DecodeFrame(FrameInput input)
            {
                var f = input.Bytes;
                var header = ReadHeader(f.Array!, f.Offset, f.Count, input.Fail);
                // Lossless Huffman coding spends at least one bit per sample; DCT at least two bits per 8x8 block.
                long maxSamples = header.Sof == 0xC3 ? 8L * f.Count + 64 : 256L * f.Count + 4096;
                return JpegDecoder.Decode(f.Array!, f.Offset, f.Count, Math.Min(maxSamples, input.Limits.MaxPixels * 4), input.Fail, input.Unsupported);
            }
        }

        /// <summary>
        /// Counts off one unit (MCU, or block of a one-component scan) of a restart interval of <paramref name="restart"/>
        /// units (0: none). When the previous interval is used up, reads its RST marker and returns true: the caller resets
        /// its predictors.
        /// </summary>
        private bool StartsRestartInterval(ref int untilRestart, int restart)
        {
            if (restart <= 0) return false;
            bool restarted = untilRestart == 0;
            if (restarted)
            {
                Restart();
                untilRestart = restart;
            }
            untilRestart--;
            return restarted;
        }

        /// <summary>Decodes a JPEG stream. <paramref name="maxSamples"/> bounds the output before anything is allocated.</summary>
        public static DecodedFrame Decode(byte[] data, int offset, int length, long maxSamples, Func<string, Exception> fail, Func<string, Exception> unsupported)
        {
            var decoder = new JpegDecoder(data, offset, length, fail, unsupported);
            return decoder.Run(maxSamples);
        }

        /// <summary>Reads the frame header only: (width, height, components, precision, SOF marker).</summary>
        public static (int Width, int Height, int Components, int Precision, int Sof) ReadHeader(byte[] data, int offset, int length, Func<string, Exception> fail)
        {
            int p = offset, end = offset + length;
            if (length < 4 || data[p] != 0xFF || data[p + 1] != 0xD8) throw fail("the JPEG stream has no start-of-image marker.");
            p += 2;
            while (p + 4 <= end)
            {
                if (data[p] != 0xFF) { p++; continue; }
                int m = data[p + 1];
                if (m == 0xFF) { p++; continue; }
                int len = (data[p + 2] << 8) | data[p + 3];
                if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC)
                {
                    if (p + 4 + 6 > end || len < 8) break;
                    return ((data[p + 7] << 8) | data[p + 8], (data[p + 5] << 8) | data[p + 6], data[p + 9], data[p + 4], m);
                }
                if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) { p += 2; continue; }
                p += 2 + len;
            }
            throw fail("the JPEG stream has no frame header.");
        }

        private DecodedFrame Run(long maxSamples)
        {
            if (_end - _pos < 4 || _d[_pos] != 0xFF || _d[_pos + 1] != 0xD8) throw _fail("the JPEG stream has no start-of-image marker.");
            _pos += 2;
            bool frameSeen = false, scanSeen = false;
            while (true)
            {
                int marker = NextMarker();
                if (marker < 0)
                {
                    if (scanSeen) break; // missing EOI after complete scans: accept what was decoded
                    throw _fail("the JPEG stream ends before its image data.");
                }
                if (marker == 0xD9) break;
                if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;
                if (_pos + 2 > _end) throw _fail("a JPEG marker segment is cut off.");
                int len = (_d[_pos] << 8) | _d[_pos + 1];
                if (len < 2 || _pos + len > _end) throw _fail("a JPEG marker segment is cut off.");
                int seg = _pos + 2, segEnd = _pos + len;
                _pos = segEnd;
                switch (marker)
                {
                    case 0xC0: case 0xC1: case 0xC3:
                        if (frameSeen) throw _unsupported("JPEG streams with several frames (hierarchical JPEG) are not supported.");
                        ReadFrame(seg, segEnd, marker == 0xC3, maxSamples);
                        frameSeen = true;
                        break;
                    case 0xC2: throw _unsupported("progressive JPEG is not supported in DICOM pixel data.");
                    case 0xC5: case 0xC6: case 0xC7: case 0xC9: case 0xCA: case 0xCB: case 0xCD: case 0xCE: case 0xCF:
                        throw _unsupported($"JPEG process SOF{marker - 0xC0} (arithmetic or hierarchical coding) is not supported.");
                    case 0xC4: ReadHuffman(seg, segEnd); break;
                    case 0xDB: ReadQuant(seg, segEnd); break;
                    case 0xDD:
                        if (segEnd - seg < 2) throw _fail("a JPEG DRI segment is too short.");
                        _restartInterval = (_d[seg] << 8) | _d[seg + 1];
                        break;
                    case 0xDA:
                        if (!frameSeen) throw _fail("a JPEG scan comes before its frame header.");
                        ReadScan(seg, segEnd);
                        scanSeen = true;
                        break;
                    default: break; // APPn, COM, DNL, ...
                }
            }
            if (!scanSeen) throw _fail("the JPEG stream holds no scan.");
            return Assemble();
        }

        private void ReadFrame(int p, int end, bool lossless, long maxSamples)
        {
            if (end - p < 6) throw _fail("the JPEG frame header is too short.");
            _lossless = lossless;
            _precision = _d[p];
            _height = (_d[p + 1] << 8) | _d[p + 2];
            _width = (_d[p + 3] << 8) | _d[p + 4];
            int n = _d[p + 5];
            if (lossless ? _precision < 2 || _precision > 16 : _precision != 8 && _precision != 12)
                throw _fail($"the JPEG frame declares {_precision}-bit samples, not valid for its process.");
            if (_width == 0 || _height == 0) throw _unsupported("JPEG streams whose height comes later (DNL marker) or that are empty are not supported.");
            if (n < 1 || n > 4 || end - p < 6 + 3 * n) throw _fail("the JPEG frame header lists an invalid number of components.");
            if ((long)_width * _height * n > maxSamples)
                throw _fail($"the JPEG frame declares {_width}x{_height}x{n} samples, more than its pixel data could hold.");
            _components = new Component[n];
            for (int i = 0; i < n; i++)
            {
                int o = p + 6 + 3 * i;
                var c = new Component { Id = _d[o], H = _d[o + 1] >> 4, V = _d[o + 1] & 15, Tq = _d[o + 2] & 3 };
                if (c.H < 1 || c.H > 4 || c.V < 1 || c.V > 4) throw _fail("a JPEG component has an invalid sampling factor.");
                if (lossless && (c.H != 1 || c.V != 1) && n > 1) throw _unsupported("lossless JPEG with subsampled components is not supported.");
                _components[i] = c;
            }
            _hmax = 1;
            _vmax = 1;
            foreach (var c in _components) { _hmax = Math.Max(_hmax, c.H); _vmax = Math.Max(_vmax, c.V); }
            int unit = lossless ? 1 : 8;
            int mcusX = (_width + unit * _hmax - 1) / (unit * _hmax);
            int mcusY = (_height + unit * _vmax - 1) / (unit * _vmax);
            foreach (var c in _components)
            {
                c.BlocksX = mcusX * c.H;
                c.BlocksY = mcusY * c.V;
                c.PlaneWidth = c.BlocksX * unit;
                c.PlaneHeight = c.BlocksY * unit;
                c.Plane = new int[(long)c.PlaneWidth * c.PlaneHeight];
            }
        }

        private void ReadScan(int p, int end)
        {
            int ns = _d[p];
            if (ns < 1 || ns > 4 || end - p < 1 + 2 * ns + 3) throw _fail("a JPEG scan header is invalid.");
            var scan = new Component[ns];
            for (int i = 0; i < ns; i++)
            {
                int id = _d[p + 1 + 2 * i];
                Component? c = null;
                foreach (var k in _components) if (k.Id == id) c = k;
                scan[i] = c ?? throw _fail($"a JPEG scan names component {id}, which the frame does not have.");
                c.DcTable = _d[p + 2 + 2 * i] >> 4;
                c.AcTable = _d[p + 2 + 2 * i] & 15;
                if (c.DcTable > 3 || c.AcTable > 3) throw _fail("a JPEG scan names an invalid table.");
            }
            int o = p + 1 + 2 * ns;
            int ss = _d[o], al = _d[o + 2] & 15;
            ResetBits();
            if (_lossless) DecodeLossless(scan, ss, al);
            else DecodeDct(scan);
            // Leave the reader at the next marker.
            SkipToMarker();
        }

        // ---------------------------------------------------------------- lossless (process 14)

        private void DecodeLossless(Component[] scan, int predictor, int pointTransform)
        {
            if (predictor < 1 || predictor > 7) throw _fail($"the lossless JPEG scan names predictor {predictor}, not 1-7.");
            if (pointTransform >= _precision) throw _fail("the lossless JPEG point transform is not below the precision.");
            var tables = new JpegHuffmanTable[scan.Length];
            for (int i = 0; i < scan.Length; i++) tables[i] = _dc[scan[i].DcTable] ?? throw _fail("a lossless JPEG scan uses an undefined JpegHuffmanTable table.");
            int initial = 1 << (_precision - pointTransform - 1);
            int width = _width, height = _height;
            if (scan.Length == 1)
            {
                // A single-component scan covers the component's own size (equal to the frame for H=V=1).
                var c = scan[0];
                width = (_width * c.H + _hmax - 1) / _hmax;
                height = (_height * c.V + _vmax - 1) / _vmax;
            }
            int restart = _restartInterval;
            if (scan.Length == 1 && (restart == 0 || restart % width == 0))
            {
                DecodeLosslessSingle(scan[0], tables[0], predictor, initial, width, height, restart == 0 ? 0 : restart / width);
                if (pointTransform > 0)
                    for (int i = 0; i < scan[0].Plane.Length; i++) scan[0].Plane[i] <<= pointTransform;
                return;
            }
            int untilRestart = restart;
            int firstLineRow = 0;
            bool startOfInterval = true;
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    if (StartsRestartInterval(ref untilRestart, restart)) startOfInterval = true;
                    if (startOfInterval) firstLineRow = y;
                    for (int i = 0; i < scan.Length; i++)
                    {
                        var c = scan[i];
                        int[] plane = c.Plane;
                        int stride = c.PlaneWidth;
                        int at = y * stride + x;
                        int pred;
                        if (startOfInterval) pred = initial;
                        else if (y == firstLineRow) pred = plane[at - 1];
                        else if (x == 0) pred = plane[at - stride];
                        else
                        {
                            int ra = plane[at - 1], rb = plane[at - stride], rc = plane[at - stride - 1];
                            switch (predictor)
                            {
                                case 1: pred = ra; break;
                                case 2: pred = rb; break;
                                case 3: pred = rc; break;
                                case 4: pred = ra + rb - rc; break;
                                case 5: pred = ra + ((rb - rc) >> 1); break;
                                case 6: pred = rb + ((ra - rc) >> 1); break;
                                default: pred = (ra + rb) >> 1; break;
                            }
                        }
                        int s = DecodeSymbol(tables[i]);
                        int diff;
                        if (s == 0) diff = 0;
                        else if (s == 16) diff = 32768;
                        else if (s > 16) throw _fail("the lossless JPEG data holds a difference category above 16.");
                        else diff = ReceiveExtend(s);
                        plane[at] = (pred + diff) & 0xFFFF;
                    }
                    startOfInterval = false;
                }
            }
            if (pointTransform > 0)
                foreach (var c in scan)
                    for (int i = 0; i < c.Plane.Length; i++) c.Plane[i] <<= pointTransform;
        }

        /// <summary>
        /// The common case, one component with restart intervals (if any) of whole rows: the first row of each interval
        /// predicts from the left (its first sample from 2^(P-Pt-1)), the first column from above, the rest with the
        /// selected predictor.
        /// </summary>
        private void DecodeLosslessSingle(Component c, JpegHuffmanTable table, int predictor, int initial, int width, int height, int rowsPerInterval)
        {
            int[] plane = c.Plane;
            int stride = c.PlaneWidth;
            if (table.PairDiff == null) BuildPairs(table);
            for (int y = 0; y < height; y++)
            {
                bool firstRow = y == 0;
                if (rowsPerInterval > 0 && y > 0 && y % rowsPerInterval == 0)
                {
                    Restart();
                    firstRow = true;
                }
                int row = y * stride;
                if (firstRow)
                {
                    int prev = initial;
                    for (int x = 0; x < width; x++)
                    {
                        prev = (prev + NextDifference(table)) & 0xFFFF;
                        plane[row + x] = prev;
                    }
                    continue;
                }
                int up = row - stride;
                int left = (plane[up] + NextDifference(table)) & 0xFFFF;
                plane[row] = left;
                switch (predictor)
                {
                    case 1:
                        for (int x = 1; x < width; x++) plane[row + x] = left = (left + NextDifference(table)) & 0xFFFF;
                        break;
                    case 2:
                        for (int x = 1; x < width; x++) plane[row + x] = (plane[up + x] + NextDifference(table)) & 0xFFFF;
                        break;
                    case 3:
                        for (int x = 1; x < width; x++) plane[row + x] = (plane[up + x - 1] + NextDifference(table)) & 0xFFFF;
                        break;
                    case 4:
                        for (int x = 1; x < width; x++)
                            plane[row + x] = left = (left + plane[up + x] - plane[up + x - 1] + NextDifference(table)) & 0xFFFF;
                        break;
                    case 5:
                        for (int x = 1; x < width; x++)
                            plane[row + x] = left = (left + ((plane[up + x] - plane[up + x - 1]) >> 1) + NextDifference(table)) & 0xFFFF;
                        break;
                    case 6:
                        for (int x = 1; x < width; x++)
                            plane[row + x] = left = (plane[up + x] + ((left - plane[up + x - 1]) >> 1) + NextDifference(table)) & 0xFFFF;
                        break;
                    default:
                        for (int x = 1; x < width; x++)
                            plane[row + x] = left = (((left + plane[up + x]) >> 1) + NextDifference(table)) & 0xFFFF;
                        break;
                }
            }
        }

        private int NextDifference(JpegHuffmanTable table)
        {
            if (_bits < PairBits) Fill();
            int look = (int)(_acc >> (64 - PairBits));
            int n = table.PairLength![look];
            if (n != 0)
            {
                _acc <<= n;
                _bits -= n;
                return table.PairDiff![look];
            }
            int s = DecodeSymbol(table);
            if (s == 0) return 0;
            if (s == 16) return 32768;
            if (s > 16) throw _fail("the lossless JPEG data holds a difference category above 16.");
            return ReceiveExtend(s);
        }

        // ---------------------------------------------------------------- sequential DCT (processes 1, 2, 4)

        private void DecodeDct(Component[] scan)
        {
            foreach (var c in scan)
            {
                if (_dc[c.DcTable] == null || _ac[c.AcTable] == null) throw _fail("a JPEG scan uses an undefined JpegHuffmanTable table.");
                if (_q[c.Tq] == null) throw _fail("a JPEG component uses an undefined quantisation table.");
                c.DcPred = 0;
            }
            var coef = new int[64];
            var block = new float[64];
            int restart = _restartInterval, untilRestart = restart;
            if (scan.Length == 1)
            {
                var c = scan[0];
                int bx = ((_width * c.H + _hmax - 1) / _hmax + 7) / 8;
                int by = ((_height * c.V + _vmax - 1) / _vmax + 7) / 8;
                for (int y = 0; y < by; y++)
                    for (int x = 0; x < bx; x++)
                    {
                        if (StartsRestartInterval(ref untilRestart, restart)) c.DcPred = 0;
                        DecodeBlock(c, coef, block, x, y);
                    }
                return;
            }
            int mcusX = (_width + 8 * _hmax - 1) / (8 * _hmax);
            int mcusY = (_height + 8 * _vmax - 1) / (8 * _vmax);
            for (int my = 0; my < mcusY; my++)
                for (int mx = 0; mx < mcusX; mx++)
                {
                    if (StartsRestartInterval(ref untilRestart, restart))
                        foreach (var c in scan) c.DcPred = 0;
                    foreach (var c in scan)
                        for (int v = 0; v < c.V; v++)
                            for (int h = 0; h < c.H; h++)
                                DecodeBlock(c, coef, block, mx * c.H + h, my * c.V + v);
                }
        }

        private void DecodeBlock(Component c, int[] coef, float[] block, int bx, int by)
        {
            Array.Clear(coef, 0, 64);
            var q = _q[c.Tq];
            var dc = _dc[c.DcTable]!;
            var ac = _ac[c.AcTable]!;
            c.DcPred += DecodeBlockCoefficients(dc, ac, coef, q);
            coef[0] = c.DcPred * q[0];
            if (bx >= c.BlocksX || by >= c.BlocksY) return;
            InverseDct(coef, block);
            int offset = 1 << (_precision - 1), max = (1 << _precision) - 1;
            int stride = c.PlaneWidth;
            int o = by * 8 * stride + bx * 8;
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                {
                    int v = (int)Math.Round(block[y * 8 + x]) + offset;
                    c.Plane[o + y * stride + x] = v < 0 ? 0 : v > max ? max : v;
                }
        }

        private static float[] BuildCosines()
        {
            var t = new float[64];
            for (int x = 0; x < 8; x++)
                for (int u = 0; u < 8; u++)
                {
                    double cu = u == 0 ? Math.Sqrt(0.5) : 1.0;
                    t[x * 8 + u] = (float)(cu * Math.Cos((2 * x + 1) * u * Math.PI / 16) / 2);
                }
            return t;
        }

        /// <summary>Separable float inverse DCT (reference definition of T.81 A.3.3).</summary>
        private static void InverseDct(int[] coef, float[] output)
        {
            Span<float> tmp = stackalloc float[64];
            for (int u = 0; u < 8; u++) // columns: for each horizontal frequency u, transform along v
                for (int y = 0; y < 8; y++)
                {
                    float s = 0;
                    for (int v = 0; v < 8; v++) s += IdctCos[y * 8 + v] * coef[v * 8 + u];
                    tmp[y * 8 + u] = s;
                }
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                {
                    float s = 0;
                    for (int u = 0; u < 8; u++) s += IdctCos[x * 8 + u] * tmp[y * 8 + u];
                    output[y * 8 + x] = s;
                }
        }

        private DecodedFrame Assemble()
        {
            int n = _components.Length;
            if (n == 1 && _components[0].PlaneWidth == _width && _components[0].Plane.Length == _width * _height)
                return new DecodedFrame(_width, _height, 1, _precision, _components[0].Plane);
            var samples = new int[(long)_width * _height * n];
            for (int ci = 0; ci < n; ci++)
            {
                var c = _components[ci];
                if (c.H == _hmax && c.V == _vmax)
                    for (int y = 0; y < _height; y++)
                        for (int x = 0, o = y * _width * n + ci; x < _width; x++) samples[o + x * n] = c.Plane[y * c.PlaneWidth + x];
                else ChromaUpsampling.Fill(c.Plane, c.PlaneWidth, c.H, c.V, _hmax, _vmax, _width, _height, samples, n, ci);
            }
            return new DecodedFrame(_width, _height, n, _precision, samples);
        }
    }
}
