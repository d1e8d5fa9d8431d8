
namespace Cxas.Imaging
{
    /// <summary>
    /// PyTorch's nearest-neighbour index rule (<c>F.interpolate(mode="nearest")</c>), which the reference uses both ways:
    /// source index = min(floor(dst * (float)src / dst_size), src - 1), computed in float32 like ATen does,
    /// with ATen's shortcuts for equal sizes and exact doubling.
    /// </summary>
    internal static class NearestIndex
    {
        public static int[] Map(int srcSize, int dstSize)
        {
            if (srcSize <= 0 || dstSize <= 0) throw new ArgumentOutOfRangeException(nameof(dstSize));
            var map = new int[dstSize];
            if (srcSize == dstSize)
            {
                for (int i = 0; i < dstSize; i++) map[i] = i;
                return map;
            }
            if (dstSize == 2 * srcSize)
            {
                for (int i = 0; i < dstSize; i++) map[i] = i >> 1;
                return map;
            }
            float scale = (float)srcSize / dstSize;
            for (int i = 0; i < dstSize; i++)
            {
                float product = (float)i * scale;
                int index = (int)Math.Floor(product);
                map[i] = Math.Min(index, srcSize - 1);
            }
            return map;
        }
    }
}
