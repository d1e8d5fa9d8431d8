using Cxas.Jpeg;

namespace Cxas.Imaging
{
    /// <summary>
    /// Proves a JPEG file whole before its pixels are decoded (ImageSharp, like libjpeg, decodes data that run out as
    /// zeros): the markers are walked in order and every scan's entropy-coded data are decoded to the last MCU, Huffman
    /// symbols and extra bits only (no dequantisation, no IDCT). In order:
    /// 1. SOI; known marker segments within the file, with nothing between them; DQT and DHT tables valid (DC tables used
    ///    by a scan: categories 0-15); DRI 4 bytes long; JFIF and Adobe segments long enough for their fields;
    /// 2. one frame: SOF0 (baseline), SOF1 (extended) or SOF2 (progressive), Huffman-coded; other processes are
    ///    NotSupported; its size checked against <see cref="ImageLimits"/> before anything the size of the image exists;
    /// 3. each scan (SOS): components of the frame, tables defined, valid spectral selection and successive
    ///    approximation; sequential scans decode whole blocks; progressive ones DC first (category + bits), DC refine
    ///    (one bit a block), AC first (with end-of-band runs) and AC refine (which reads one correction bit for each
    ///    coefficient already non-zero, so a bit per coefficient of each block of each component is kept: 1 byte per
    ///    8 pixels of each component); restart markers where the interval says;
    ///    a scan that needs a bit past its data (a marker, the end of the file or an early EOI) is InvalidData naming
    ///    the scan and the MCU where the data ran out;
    /// 4. EOI present; every component's DC coefficients coded by some scan; at most <see cref="MaxScans"/> scans.
    /// Any failure is <c>Cxas.InvalidData</c> naming the file and what is missing or wrong.
    /// </summary>
    internal sealed class JpegChecker : JpegEntropyReader
    {
        private sealed class Component
        {
            public int Id, H, V, Tq;
            public int BlocksX, BlocksY; // padded block grid (whole MCUs)
            public int DcTable, AcTable;
            public bool DcCoded;
            public ulong[]? NonZero; // progressive: per block, bit k set once zig-zag coefficient k is non-zero
        }

        /// <summary>Progressive encoders write about 10 scans; a file of thousands of tiny scans would take hours to decode.</summary>
        public const int MaxScans = 200;

        private readonly string _path;
        private readonly ImageReadOptions _options;
        private Component[] _components = Array.Empty<Component>();
        private int _width, _height, _hmax, _vmax, _mcusX, _mcusY, _scans;
        private bool _progressive;
        private int _eobRun;

        private JpegChecker(byte[] data, string path, ImageReadOptions options)
            : base(data, 0, data.Length, message => new CxasException(CxasErrorKind.InvalidData, $"'{path}' is a damaged JPEG file: {message}", path))
        {
            _path = path;
            _options = options;
        }

        /// <summary>Throws <see cref="CxasException"/> unless <paramref name="data"/> is a whole JPEG file; returns its size.</summary>
        public static (int Width, int Height) Check(byte[] data, string path, ImageReadOptions options)
        {
            var checker = new JpegChecker(data, path, options);
            checker.Run();
            return (checker._width, checker._height);
        }

        private void Run()
        {
            if (_end < 4 || _d[0] != 0xFF || _d[1] != 0xD8) throw _fail("it does not start with a start-of-image marker.");
            _pos = 2;
            bool frame = false;
            while (true)
            {
                if (_pos < _end && _d[_pos] != 0xFF)
                {
                    // libjpeg calls these "Corrupt JPEG data: extraneous bytes before marker" and skips them.
                    int at = _pos;
                    while (_pos < _end && _d[_pos] != 0xFF) _pos++;
                    throw _fail($"{_pos - at} bytes that belong to no marker segment come at offset {at}.");
                }
                int marker = NextMarker();
                if (marker < 0)
                    throw _fail(_scans == 0 ? "the file is truncated before its image data." : "the file is truncated: it ends without an end-of-image marker.");
                if (marker == 0xD9) break;
                if (marker == 0xD8) throw _fail($"a second start-of-image marker comes at offset {_pos - 2}.");
                if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;
                if (_pos + 2 > _end) throw _fail("the file is truncated inside a marker segment.");
                int len = (_d[_pos] << 8) | _d[_pos + 1];
                if (len < 2 || _pos + len > _end) throw _fail($"the marker segment FF{marker:X2} at offset {_pos - 2} declares {len} bytes, beyond the end of the file.");
                int seg = _pos + 2, segEnd = _pos + len;
                _pos = segEnd;
                switch (marker)
                {
                    case 0xC0: case 0xC1: case 0xC2:
                        if (frame) throw _fail("the file holds a second frame header.");
                        ReadFrame(seg, segEnd, marker == 0xC2);
                        frame = true;
                        break;
                    case 0xC3: case 0xC5: case 0xC6: case 0xC7: case 0xC9: case 0xCA: case 0xCB: case 0xCD: case 0xCE: case 0xCF:
                        throw new CxasException(CxasErrorKind.NotSupported,
                            $"'{_path}' is a JPEG of process SOF{marker - 0xC0} (lossless, hierarchical or arithmetic-coded), which Cxas does not read.", _path);
                    case 0xC4: ReadHuffman(seg, segEnd); break;
                    case 0xDB: ReadQuant(seg, segEnd); break;
                    case 0xDD:
                        if (len != 4) throw _fail($"the restart interval segment holds {len} bytes, not 4.");
                        _restartInterval = (_d[seg] << 8) | _d[seg + 1];
                        break;
                    case 0xDA:
                        if (!frame) throw _fail("a scan comes before the frame header.");
                        ReadScan(seg, segEnd);
                        break;
                    case 0xDC:
                        throw new CxasException(CxasErrorKind.NotSupported, $"'{_path}' is a JPEG whose height comes after its data (DNL marker), which Cxas does not read.", _path);
                    case 0xDE: case 0xDF: case 0xF7: case 0xF8:
                        throw new CxasException(CxasErrorKind.NotSupported,
                            $"'{_path}' is a hierarchical or JPEG-LS stream (marker FF{marker:X2}), which Cxas does not read as PNG/JPEG.", _path);
                    case 0xFE:
                        break; // comment
                    case 0xE0:
                    case 0xEE:
                        CheckApplicationSegment(marker, seg, segEnd);
                        break;
                    default:
                        if (marker < 0xE0 || marker > 0xEF) throw _fail($"an unknown marker FF{marker:X2} comes at offset {seg - 4}.");
                        break; // other APPn
                }
            }
            if (_scans == 0) throw _fail("it holds no scan (no image data).");
            foreach (var c in _components)
                if (!c.DcCoded) throw _fail($"no scan codes component {c.Id}.");
        }

        /// <summary>The two application segments whose fields decoders read (JFIF APP0, Adobe APP14) must hold them all.</summary>
        private void CheckApplicationSegment(int marker, int p, int end)
        {
            bool Starts(string id)
            {
                if (end - p < id.Length) return false;
                for (int i = 0; i < id.Length; i++) if (_d[p + i] != id[i]) return false;
                return true;
            }
            if (marker == 0xE0 && Starts("JFIF\0") && end - p < 14) throw _fail($"its JFIF header holds {end - p} bytes, not 14.");
            if (marker == 0xEE && Starts("Adobe") && end - p < 12) throw _fail($"its Adobe segment holds {end - p} bytes, not 12.");
        }

        private void ReadFrame(int p, int end, bool progressive)
        {
            if (end - p < 6) throw _fail("the frame header is too short.");
            int precision = _d[p];
            _height = (_d[p + 1] << 8) | _d[p + 2];
            _width = (_d[p + 3] << 8) | _d[p + 4];
            int n = _d[p + 5];
            if (precision != 8 && precision != 12) throw _fail($"the frame declares {precision}-bit samples (8 or 12 are defined).");
            if (_height == 0)
                throw new CxasException(CxasErrorKind.NotSupported, $"'{_path}' is a JPEG whose height comes after its data (DNL marker), which Cxas does not read.", _path);
            if (n < 1 || n > 4 || end - p != 6 + 3 * n) throw _fail("the frame header lists an invalid number of components.");
            _options.Check(_path, _width, _height);
            _progressive = progressive;
            _components = new Component[n];
            _hmax = _vmax = 1;
            for (int i = 0; i < n; i++)
            {
                int o = p + 6 + 3 * i;
                var c = new Component { Id = _d[o], H = _d[o + 1] >> 4, V = _d[o + 1] & 15, Tq = _d[o + 2] };
                if (c.H < 1 || c.H > 4 || c.V < 1 || c.V > 4) throw _fail($"component {c.Id} has an invalid sampling factor.");
                if (c.Tq > 3) throw _fail($"component {c.Id} names quantisation table {c.Tq}.");
                for (int k = 0; k < i; k++) if (_components[k].Id == c.Id) throw _fail($"component id {c.Id} is used twice.");
                _components[i] = c;
                _hmax = Math.Max(_hmax, c.H);
                _vmax = Math.Max(_vmax, c.V);
            }
            _mcusX = (_width + 8 * _hmax - 1) / (8 * _hmax);
            _mcusY = (_height + 8 * _vmax - 1) / (8 * _vmax);
            foreach (var c in _components)
            {
                c.BlocksX = _mcusX * c.H;
                c.BlocksY = _mcusY * c.V;
            }
        }

        private void ReadScan(int p, int end)
        {
            int ns = _d[p];
            if (ns < 1 || ns > 4 || end - p != 1 + 2 * ns + 3) throw _fail($"the header of scan {_scans + 1} is invalid.");
            var scan = new Component[ns];
            int blocksPerMcu = 0;
            for (int i = 0; i < ns; i++)
            {
                int id = _d[p + 1 + 2 * i];
                var c = Array.Find(_components, k => k.Id == id) ?? throw _fail($"scan {_scans + 1} names component {id}, which the frame does not have.");
                if (Array.IndexOf(scan, c) >= 0) throw _fail($"scan {_scans + 1} names component {id} twice.");
                c.DcTable = _d[p + 2 + 2 * i] >> 4;
                c.AcTable = _d[p + 2 + 2 * i] & 15;
                if (c.DcTable > 3 || c.AcTable > 3) throw _fail($"scan {_scans + 1} names an invalid Huffman table.");
                if (_q[c.Tq] == null) throw _fail($"component {id} uses quantisation table {c.Tq}, which is not defined.");
                scan[i] = c;
                blocksPerMcu += c.H * c.V;
            }
            if (ns > 1 && blocksPerMcu > 10) throw _fail($"scan {_scans + 1} has {blocksPerMcu} blocks in an MCU (at most 10).");
            int o = p + 1 + 2 * ns;
            int ss = _d[o], se = _d[o + 1], ah = _d[o + 2] >> 4, al = _d[o + 2] & 15;
            if (++_scans > MaxScans)
                throw new CxasException(CxasErrorKind.LimitExceeded,
                    $"'{_path}' is a JPEG of more than {MaxScans} scans (each one walks the whole image: a denial of service, not a radiograph).", _path);
            if (!_progressive)
            {
                if (ss != 0 || se != 63 || ah != 0 || al != 0) throw _fail($"sequential scan {_scans} declares spectral selection {ss}-{se}, approximation {ah}/{al}.");
                foreach (var c in scan)
                    if (_dc[c.DcTable] == null || _ac[c.AcTable] == null) throw _fail($"scan {_scans} uses a Huffman table that is not defined.");
            }
            else
            {
                bool dc = ss == 0;
                if (dc ? se != 0 : se < ss || se > 63 || ns != 1) throw _fail($"progressive scan {_scans} declares spectral selection {ss}-{se} over {ns} components.");
                if (al > 13 || ah > 13 || ah != 0 && al != ah - 1) throw _fail($"progressive scan {_scans} declares successive approximation {ah}/{al}.");
                foreach (var c in scan)
                {
                    if (dc && ah == 0 && _dc[c.DcTable] == null || !dc && _ac[c.AcTable] == null)
                        throw _fail($"scan {_scans} uses a Huffman table that is not defined.");
                    if (!dc && !c.DcCoded) throw _fail($"progressive scan {_scans} codes AC coefficients of component {c.Id} before its DC ones.");
                    if (!dc) c.NonZero ??= new ulong[(long)c.BlocksX * c.BlocksY];
                }
            }
            foreach (var c in scan)
            {
                if (ss != 0) continue;
                // DC symbols are difference categories: above 15 the table itself is bad (libjpeg refuses it too).
                if (ah == 0 && Array.Exists(_dc[c.DcTable]!.Values, v => v > 15))
                    throw _fail($"DC Huffman table {c.DcTable} holds a category above 15.");
                c.DcCoded = true;
            }
            WalkScan(scan, ss, se, ah);
            SkipToMarker();
        }

        /// <summary>Decodes every MCU of a scan (symbols and bits only), restart markers included.</summary>
        private void WalkScan(Component[] scan, int ss, int se, int ah)
        {
            ResetBits();
            _eobRun = 0;
            long mcusX, mcusY;
            if (scan.Length == 1)
            {
                // A single-component scan covers the component's own blocks, not whole MCUs.
                var c = scan[0];
                mcusX = ((_width * (long)c.H + _hmax - 1) / _hmax + 7) / 8;
                mcusY = ((_height * (long)c.V + _vmax - 1) / _vmax + 7) / 8;
            }
            else
            {
                mcusX = _mcusX;
                mcusY = _mcusY;
            }
            long total = mcusX * mcusY;
            int interval = _restartInterval;
            for (long m = 0; m < total; m++)
            {
                if (interval > 0 && m > 0 && m % interval == 0)
                {
                    if (!Restart()) throw _fail($"scan {_scans} lacks the restart marker due after MCU {m} of {total}.");
                    _eobRun = 0;
                }
                long mx = m % mcusX, my = m / mcusX;
                if (scan.Length == 1)
                    WalkBlock(scan[0], (int)mx, (int)my, ss, se, ah);
                else
                    foreach (var c in scan)
                        for (int v = 0; v < c.V; v++)
                            for (int h = 0; h < c.H; h++)
                                WalkBlock(c, (int)mx * c.H + h, (int)my * c.V + v, ss, se, ah);
                if (RanOut)
                    throw _fail($"the entropy-coded data of scan {_scans} run out in MCU {m + 1} of {total} (the file is truncated or its size fields are wrong).");
            }
        }

        private void WalkBlock(Component c, int bx, int by, int ss, int se, int ah)
        {
            if (!_progressive)
            {
                DecodeBlockCoefficients(_dc[c.DcTable]!, _ac[c.AcTable]!, null, null);
                return;
            }
            if (ss == 0)
            {
                if (ah == 0)
                {
                    int t = DecodeSymbol(_dc[c.DcTable]!);
                    if (t > 11) throw _fail($"scan {_scans} holds a DC difference category of {t}.");
                    ReadBits(t);
                }
                else ReadBits(1);
                return;
            }
            long index = (long)by * c.BlocksX + bx;
            ulong nz = c.NonZero![index];
            var ac = _ac[c.AcTable]!;
            int k = ss;
            if (ah == 0)
            {
                // AC first: runs of zeros, new coefficients, end-of-band runs across blocks.
                if (_eobRun > 0) { _eobRun--; return; }
                for (; k <= se; k++)
                {
                    int rs = DecodeSymbol(ac);
                    int r = rs >> 4, s = rs & 15;
                    if (s == 0)
                    {
                        if (r < 15)
                        {
                            _eobRun = (1 << r) - 1 + ReadBits(r);
                            break;
                        }
                        k += 15;
                        continue;
                    }
                    k += r;
                    if (k > se) throw _fail($"scan {_scans} codes a coefficient past its spectral band.");
                    ReadBits(s);
                    nz |= 1UL << k;
                }
                c.NonZero[index] = nz;
                return;
            }
            // AC refine: a correction bit for each coefficient already non-zero; new ones of magnitude 1.
            if (_eobRun == 0)
            {
                for (; k <= se; k++)
                {
                    int rs = DecodeSymbol(ac);
                    int r = rs >> 4, s = rs & 15;
                    if (s == 0 && r < 15)
                    {
                        _eobRun = (1 << r) + ReadBits(r);
                        break;
                    }
                    if (s != 0)
                    {
                        if (s != 1) throw _fail($"refining scan {_scans} codes a new coefficient of size {s}.");
                        ReadBits(1);
                    }
                    for (; k <= se; k++)
                    {
                        if ((nz & (1UL << k)) != 0) ReadBits(1);
                        else if (r-- == 0) break;
                    }
                    if (s != 0)
                    {
                        if (k > se) throw _fail($"refining scan {_scans} codes a coefficient past its spectral band.");
                        nz |= 1UL << k;
                    }
                }
            }
            if (_eobRun > 0)
            {
                for (; k <= se; k++)
                    if ((nz & (1UL << k)) != 0) ReadBits(1);
                _eobRun--;
            }
            c.NonZero[index] = nz;
        }
    }
}
