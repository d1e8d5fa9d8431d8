
namespace Cxas.Core.Tests.Masks
{
    /// <summary>PNG rows built from runs of grid bits against the per-pixel packing they replaced and against the mask's own pixels.</summary>
    public class PackedRowTests
    {
        [Theory]
        [InlineData(320, 320, 2048, 2048, 0.5)]
        [InlineData(320, 320, 2048, 2048, 0.97)]  // long runs
        [InlineData(320, 320, 2048, 2048, 0.03)]  // isolated bits
        [InlineData(512, 512, 3000, 2500, 0.4)]
        [InlineData(64, 70, 731, 613, 0.5)]       // odd sizes, runs ending mid-byte
        [InlineData(320, 320, 200, 150, 0.5)]     // image smaller than the grid: grid columns without pixels
        [InlineData(130, 1, 130, 3, 0.6)]         // grid wider than a word, not a multiple of 64
        public void RunPackedRowsEqualPerPixelRows(int gridWidth, int gridHeight, int width, int height, double density)
        {
            var random = new Random(gridWidth * 31 + width);
            var masks = new MaskSet(new[] { "a", "b" }, gridWidth, gridHeight, width, height);
            for (int c = 0; c < 2; c++)
                for (int gy = 0; gy < gridHeight; gy++)
                {
                    // Runs of random length, so both long runs and single bits occur.
                    bool on = random.NextDouble() < density;
                    for (int gx = 0; gx < gridWidth; gx++)
                    {
                        if (random.NextDouble() < 0.15) on = random.NextDouble() < density;
                        masks.SetGridBit(c, gx, gy, on);
                    }
                }
            masks.SetGridBit(0, gridWidth - 1, 0, true);
            masks.SetGridBit(0, 0, 0, true);
            int stride = (width + 7) / 8;
            var fast = new byte[stride];
            var slow = new byte[stride];
            for (int c = 0; c < 2; c++)
                for (int y = 0; y < height; y++)
                {
                    Array.Fill(fast, (byte)0xA5); // stale content must be cleared
                    Assert.True(masks.GetPackedRowMsb(c, y, fast));
                    masks.GetPackedRowMsbPerPixel(c, y, slow);
                    Assert.Equal(slow, fast);
                    for (int x = 0; x < width; x += 7)
                        Assert.Equal(masks[c, x, y], (fast[x >> 3] & (0x80 >> (x & 7))) != 0);
                }
        }
    }
}
