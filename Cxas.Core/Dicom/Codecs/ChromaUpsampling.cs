namespace Cxas.Dicom.Codecs
{
    /// <summary>
    /// Brings a subsampled JPEG component to full resolution as the IJG libjpeg does by default ("fancy upsampling"),
    /// which GDCM and dcmtk (their own libjpeg 6b), Pillow and pydicom (libjpeg-turbo, equal on these two cases) all use.
    /// T.81 leaves upsampling to the decoder; following libjpeg makes Cxas's colour samples those of the other readers.
    /// <list type="bullet">
    /// <item>Half horizontal resolution (H = Hmax/2, V = Vmax): each output sample is 3/4 of its input sample plus 1/4 of
    /// the horizontal neighbour on its side, rounded alternately down and up ((3a + b + 1) / 4, (3a + b + 2) / 4); the first
    /// and last output samples copy the input.</item>
    /// <item>Half resolution both ways (H = Hmax/2, V = Vmax/2): the same triangle filter vertically first (3/4 of the input
    /// row, 1/4 of the row above for the upper output row, below for the lower), then horizontally on those sums, divided
    /// by 16 with rounding biases 8 and 7; the first and last columns use the column sum alone. Above the first input row
    /// and below the last one, that row stands in for its missing neighbour.</item>
    /// <item>Any other ratio: each input sample is replicated over the output samples it covers.</item>
    /// </list>
    /// The input is the component's first ceil(width * H / Hmax) columns and ceil(height * V / Vmax) rows (libjpeg's
    /// downsampled size); the padding blocks beyond them are never read.
    /// </summary>
    internal static class ChromaUpsampling
    {
        /// <summary>Writes component <paramref name="ci"/> of <paramref name="n"/> into <paramref name="samples"/> (interleaved, width x height).</summary>
        public static void Fill(int[] plane, int stride, int h, int v, int hmax, int vmax, int width, int height, int[] samples, int n, int ci)
        {
            int inWidth = (int)(((long)width * h + hmax - 1) / hmax);
            int inHeight = (int)(((long)height * v + vmax - 1) / vmax);
            bool halfWide = 2 * h == hmax && inWidth > 2;
            if (halfWide && v == vmax) { Rows(plane, stride, inWidth, width, height, samples, n, ci, vertical: false); return; }
            if (halfWide && 2 * v == vmax) { Rows(plane, stride, inWidth, width, height, samples, n, ci, vertical: true, inHeight); return; }
            for (int y = 0; y < height; y++)
            {
                int row = y * v / vmax * stride;
                int o = y * width * n + ci;
                for (int x = 0; x < width; x++) samples[o + x * n] = plane[row + x * h / hmax];
            }
        }

        /// <summary>The two triangle filters: per output row, the (vertically filtered) input row, then the horizontal pass.</summary>
        private static void Rows(int[] plane, int stride, int inWidth, int width, int height, int[] samples, int n, int ci, bool vertical, int inHeight = 0)
        {
            var sums = new int[inWidth];
            var row = new int[2 * inWidth];
            for (int y = 0; y < height; y++)
            {
                if (vertical)
                {
                    // output row y lies in input row y/2; its far neighbour is above (even y) or below (odd y), clamped to the image
                    int near = y / 2, far = y % 2 == 0 ? Math.Max(near - 1, 0) : Math.Min(near + 1, inHeight - 1);
                    for (int x = 0; x < inWidth; x++) sums[x] = 3 * plane[near * stride + x] + plane[far * stride + x];
                    row[0] = (4 * sums[0] + 8) >> 4;
                    row[1] = (3 * sums[0] + sums[1] + 7) >> 4;
                    for (int x = 1; x < inWidth - 1; x++)
                    {
                        row[2 * x] = (3 * sums[x] + sums[x - 1] + 8) >> 4;
                        row[2 * x + 1] = (3 * sums[x] + sums[x + 1] + 7) >> 4;
                    }
                    int last = inWidth - 1;
                    row[2 * last] = (3 * sums[last] + sums[last - 1] + 8) >> 4;
                    row[2 * last + 1] = (4 * sums[last] + 7) >> 4;
                }
                else
                {
                    int r = y * stride;
                    row[0] = plane[r];
                    row[1] = (3 * plane[r] + plane[r + 1] + 2) >> 2;
                    for (int x = 1; x < inWidth - 1; x++)
                    {
                        row[2 * x] = (3 * plane[r + x] + plane[r + x - 1] + 1) >> 2;
                        row[2 * x + 1] = (3 * plane[r + x] + plane[r + x + 1] + 2) >> 2;
                    }
                    int last = inWidth - 1;
                    row[2 * last] = (3 * plane[r + last] + plane[r + last - 1] + 1) >> 2;
                    row[2 * last + 1] = plane[r + last];
                }
                int o = y * width * n + ci;
                for (int x = 0; x < width; x++) samples[o + x * n] = row[x];
            }
        }
    }
}
