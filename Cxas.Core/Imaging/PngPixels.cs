namespace Cxas.Imaging
{
    /// <summary>
    /// The pixels of the PNGs radiographs almost always are (8 bits a sample, grey, grey + alpha, RGB or RGBA, not
    /// interlaced), decoded here from the rows <see cref="PngChecker"/> inflates while it proves the file whole (one
    /// inflate for both); every other kind goes through ImageSharp. For each row: undo its filter (None, Sub, Up, Average,
    /// Paeth, against the row above) and write 8-bit RGB as PIL's <c>convert("RGB")</c> does: grey on all three channels,
    /// alpha dropped without compositing. Memory: the RGB image and two rows. The image is the caller's only once the
    /// check has succeeded.
    /// </summary>
    internal sealed class PngPixels
    {
        private readonly string _path;
        private readonly int _width, _height, _channels;
        private readonly byte[] _rgb;
        private byte[] _previous, _current;
        private int _y;

        public static bool Handles(PngLayout layout) =>
            !layout.Interlaced && layout.BitDepth == 8 && (layout.ColorType == 0 || layout.ColorType == 2 || layout.ColorType == 4 || layout.ColorType == 6);

        public PngPixels(PngLayout layout, string path)
        {
            _path = path;
            _width = layout.Width;
            _height = layout.Height;
            _channels = layout.ColorType == 0 ? 1 : layout.ColorType == 4 ? 2 : layout.ColorType == 2 ? 3 : 4;
            int stride = checked(_width * _channels);
            _rgb = new byte[checked(_width * _height * 3)];
            _previous = new byte[stride];
            _current = new byte[stride];
        }

        /// <summary>One row as inflated: its filter byte, then its samples (the checker has checked the filter byte).</summary>
        public void Add(byte[] filtered)
        {
            if (_y >= _height) return;
            Buffer.BlockCopy(filtered, 1, _current, 0, _current.Length);
            Unfilter(filtered[0], _current, _previous, _channels, _path);
            ToRgb(_current, _channels, _width, _rgb, _y * _width * 3);
            var swap = _previous; _previous = _current; _current = swap;
            _y++;
        }

        /// <summary>The decoded image, once every row has come.</summary>
        public SourceImage ToImage()
        {
            if (_y != _height) throw Damaged(_path, $"its image data hold {_y} of {_height} rows.");
            return new SourceImage(new Rgb24Raster(_width, _height, _rgb), new SourceInfo(_path, "PNG"));
        }

        private static CxasException Damaged(string path, string what) =>
            new CxasException(CxasErrorKind.InvalidData, $"'{path}' is a damaged PNG file: {what}", path);

        /// <summary>Undoes a row's filter in place; <paramref name="bpp"/> is the bytes per pixel (the "left" distance).</summary>
        private static unsafe void Unfilter(byte type, byte[] row, byte[] up, int bpp, string path)
        {
            int n = row.Length;
            if (type > 4) throw Damaged(path, $"a row has filter type {type} (0-4 exist).");
            if (type == 0 || n == 0) return;
            fixed (byte* r = row, u = up)
            {
                switch (type)
                {
                    case 1:
                        for (int i = bpp; i < n; i++) r[i] = (byte)(r[i] + r[i - bpp]);
                        break;
                    case 2:
                        for (int i = 0; i < n; i++) r[i] = (byte)(r[i] + u[i]);
                        break;
                    case 3:
                        for (int i = 0; i < bpp; i++) r[i] = (byte)(r[i] + (u[i] >> 1));
                        for (int i = bpp; i < n; i++) r[i] = (byte)(r[i] + ((r[i - bpp] + u[i]) >> 1));
                        break;
                    default:
                        for (int i = 0; i < bpp; i++) r[i] = (byte)(r[i] + u[i]); // Paeth with left = up-left = 0 picks up
                        for (int i = bpp; i < n; i++)
                        {
                            // Paeth: of left (a), up (b) and up-left (c), the nearest to a + b - c; ties go to a, then b.
                            // |p - a| = |b - c|, |p - b| = |a - c|, |p - c| = |a + b - 2c|.
                            // Without branches (noisy rows make them unpredictable): masks of all ones select.
                            int a = r[i - bpp], b = u[i], c = u[i - bpp];
                            int pa = b - c, pb = a - c, pc = pa + pb;
                            pa = (pa ^ (pa >> 31)) - (pa >> 31);
                            pb = (pb ^ (pb >> 31)) - (pb >> 31);
                            pc = (pc ^ (pc >> 31)) - (pc >> 31);
                            int takeB = (pb - pa) >> 31;                     // b is strictly nearer than a
                            int best = (a & ~takeB) | (b & takeB), bestDistance = (pa & ~takeB) | (pb & takeB);
                            int takeC = (pc - bestDistance) >> 31;           // c is strictly nearer than both
                            r[i] = (byte)(r[i] + ((best & ~takeC) | (c & takeC)));
                        }
                        break;
                }
            }
        }

        private static unsafe void ToRgb(byte[] row, int channels, int width, byte[] rgb, int offset)
        {
            if (channels == 3)
            {
                Buffer.BlockCopy(row, 0, rgb, offset, width * 3);
                return;
            }
            fixed (byte* src = row, dst0 = &rgb[offset])
            {
                byte* dst = dst0;
                for (int x = 0; x < width; x++, dst += 3)
                {
                    // Grey (+ alpha): the grey value on R, G and B; RGBA: R, G, B. Alpha is dropped.
                    byte* s = src + x * channels;
                    if (channels <= 2) dst[0] = dst[1] = dst[2] = s[0];
                    else { dst[0] = s[0]; dst[1] = s[1]; dst[2] = s[2]; }
                }
            }
        }
    }
}
