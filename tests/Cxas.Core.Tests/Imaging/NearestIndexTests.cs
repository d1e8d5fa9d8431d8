namespace Cxas.Core.Tests.Imaging
{
    /// <summary>The nearest-neighbour index rule against exact arithmetic and PyTorch's float32 results.</summary>
    public class NearestIndexTests
    {
        [Theory]
        [InlineData(3000, 512)]
        [InlineData(2500, 512)]
        [InlineData(512, 3000)]
        [InlineData(512, 2500)]
        [InlineData(97, 512)]
        [InlineData(512, 61)]
        public void MatchesExactFloorWhereFloat32IsExact(int src, int dst)
        {
            // For these sizes the float32 products are exact or far from integers except at exact multiples,
            // so ATen's float rule and the rational floor(dst * src / dst_size) must agree except where the
            // rational value is an integer that float32 rounds below.
            var map = NearestIndex.Map(src, dst);
            int disagreements = 0;
            for (int i = 0; i < dst; i++)
            {
                long exact = Math.Min((long)i * src / dst, src - 1);
                if (map[i] != exact)
                {
                    disagreements++;
                    Assert.Equal(0, ((long)i * src) % dst); // only on exact multiples
                    Assert.Equal(exact - 1, map[i]);
                }
            }
            Assert.True(disagreements <= dst / 4);
        }

        [Fact]
        public void KnownFloat32CaseFromAten()
        {
            // 512 -> 110: the rational source of row 55 is exactly 256, but float32 gives 55 * (512f/110) = 255.99998,
            // so ATen (and the reference's masks) use grid row 255 there.
            Assert.Equal(255, NearestIndex.Map(512, 110)[55]);
            Assert.Equal(127, NearestIndex.Map(512, 164)[41]);
            Assert.Equal(260, NearestIndex.Map(512, 110)[56]);
        }

        [Fact]
        public void SpecialCasesAreIdentityAndHalving()
        {
            Assert.Equal(new[] { 0, 1, 2, 3 }, NearestIndex.Map(4, 4));
            Assert.Equal(new[] { 0, 0, 1, 1, 2, 2 }, NearestIndex.Map(3, 6));
            Assert.Equal(new[] { 0, 2, 4 }, NearestIndex.Map(6, 3));
        }
    }
}
