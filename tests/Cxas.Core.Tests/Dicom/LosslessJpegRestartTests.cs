using Cxas.Dicom.Codecs;

namespace Cxas.Core.Tests.Dicom
{
    /// <summary>
    /// Lossless JPEG features that dcmcjpeg never emits (restart intervals, point transform, low precision): a minimal
    /// test-only encoder (T.81 annex H) writes them, and decoding must give back the original samples (shifted by the
    /// point transform).
    /// </summary>
    public sealed class LosslessJpegRestartTests
    {
        [Theory]
        [InlineData(1, 0, 16, 0)]
        [InlineData(7, 0, 16, 74)]  // restart every 2 rows (37 samples a row)
        [InlineData(4, 0, 12, 37)]  // restart every row
        [InlineData(5, 2, 12, 111)] // point transform 2
        [InlineData(6, 3, 16, 185)]
        [InlineData(2, 0, 2, 148)]  // 2-bit precision
        [InlineData(3, 1, 8, 0)]
        [InlineData(7, 0, 16, 50)]  // intervals that start mid-row
        public void RestartIntervalsAndPointTransformRoundTrip(int predictor, int pointTransform, int precision, int restartSamples)
        {
            const int width = 37, height = 23;
            var rng = new Random(predictor * 100 + precision);
            int max = (1 << precision) - 1;
            var samples = new int[width * height];
            for (int i = 0; i < samples.Length; i++)
                samples[i] = Math.Min(max, Math.Max(0, (int)((i % width) * max / (double)width * 0.7 + rng.Next(max / 4 + 1))));
            samples[5] = max;
            var jpeg = Encode(samples, width, height, precision, predictor, pointTransform, restartSamples);
            Func<string, Exception> fail = m => new InvalidOperationException(m);
            var decoded = JpegDecoder.Decode(jpeg, 0, jpeg.Length, 1 << 20, fail, fail);
            Assert.Equal((width, height, 1), (decoded.Width, decoded.Height, decoded.Components));
            Assert.Equal(samples.Select(v => (v >> pointTransform) << pointTransform), decoded.Samples.Take(samples.Length));
        }

        [Fact]
        public void DctRestartIntervalsResetTheDcPredictor()
        {
            // The damaged-input tests' hand-written baseline JPEG, 32x16 grey, a restart every 2 MCUs: each interval codes
            // a DC difference of +16 then 0, so it is flat 144 (as PIL and ImageSharp decode it) only when every interval
            // starts again from a predictor of 0.
            var jpeg = Cxas.Core.Tests.Imaging.DamagedInputTests.RestartJpeg();
            Func<string, Exception> fail = m => new InvalidOperationException(m);
            var decoded = JpegDecoder.Decode(jpeg, 0, jpeg.Length, 1 << 20, fail, fail);
            Assert.Equal((32, 16, 1), (decoded.Width, decoded.Height, decoded.Components));
            Assert.All(decoded.Samples.Take(32 * 16), v => Assert.Equal(144, v));
        }

        // ---------------------------------------------------------------- test-only encoder

        /// <summary>Code lengths per difference category 0..16 (a valid prefix code that leaves the all-ones code unused).</summary>
        private static readonly int[] Lengths = { 2, 3, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };

        private static byte[] Encode(int[] samples, int width, int height, int precision, int predictor, int pt, int restartInterval)
        {
            // canonical codes, symbols in category order (T.81 annex C)
            var codes = new int[17];
            int code = 0, k = 0;
            for (int len = 1; len <= 16; len++)
            {
                for (int s = 0; s < 17; s++)
                    if (Lengths[s] == len) { codes[s] = code++; k++; }
                code <<= 1;
            }
            var o = new List<byte> { 0xFF, 0xD8 };
            void Segment(byte marker, params byte[] body)
            {
                o.Add(0xFF); o.Add(marker);
                o.Add((byte)((body.Length + 2) >> 8)); o.Add((byte)(body.Length + 2));
                o.AddRange(body);
            }
            Segment(0xC3, (byte)precision, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 1, 1, 0x11, 0);
            var dht = new List<byte> { 0x00 };
            for (int len = 1; len <= 16; len++) dht.Add((byte)Lengths.Count(l => l == len));
            for (int len = 1; len <= 16; len++)
                for (int s = 0; s < 17; s++)
                    if (Lengths[s] == len) dht.Add((byte)s);
            Segment(0xC4, dht.ToArray());
            if (restartInterval > 0) Segment(0xDD, (byte)(restartInterval >> 8), (byte)restartInterval);
            Segment(0xDA, 1, 1, 0x00, (byte)predictor, 0, (byte)pt);

            long acc = 0;
            int bits = 0;
            void Put(int value, int n)
            {
                for (int i = n - 1; i >= 0; i--)
                {
                    acc = (acc << 1) | (uint)((value >> i) & 1);
                    if (++bits == 8)
                    {
                        o.Add((byte)acc);
                        if ((byte)acc == 0xFF) o.Add(0);
                        acc = 0;
                        bits = 0;
                    }
                }
            }
            void Flush() { while (bits != 0) Put(1, 1); }

            var x0 = samples.Select(v => v >> pt).ToArray();
            int rst = 0;
            int firstRow = 0;
            for (int i = 0; i < x0.Length; i++)
            {
                int x = i % width, y = i / width;
                bool intervalStart = i == 0 || (restartInterval > 0 && i % restartInterval == 0);
                if (intervalStart && i > 0)
                {
                    Flush();
                    o.Add(0xFF);
                    o.Add((byte)(0xD0 + (rst++ & 7)));
                }
                if (intervalStart) firstRow = y;
                int pred;
                if (intervalStart) pred = 1 << (precision - pt - 1);
                else if (y == firstRow) pred = x0[i - 1];
                else if (x == 0) pred = x0[i - width];
                else
                {
                    int ra = x0[i - 1], rb = x0[i - width], rc = x0[i - width - 1];
                    pred = predictor switch
                    {
                        1 => ra, 2 => rb, 3 => rc, 4 => ra + rb - rc, 5 => ra + ((rb - rc) >> 1), 6 => rb + ((ra - rc) >> 1), _ => (ra + rb) >> 1,
                    };
                }
                int diff = (x0[i] - pred) & 0xFFFF;
                if (diff >= 32768) diff -= 65536; // modulo 2^16, as a signed difference
                int category = diff == 0 ? 0 : diff == -32768 ? 16 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)Math.Abs(diff));
                Put(codes[category], Lengths[category]);
                if (category > 0 && category < 16) Put(diff > 0 ? diff : diff + (1 << category) - 1, category);
            }
            Flush();
            o.Add(0xFF);
            o.Add(0xD9);
            return o.ToArray();
        }
    }
}
