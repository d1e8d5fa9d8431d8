using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Cxas.Bench
{
    /// <summary>Chest-like 8-bit test radiographs for the benchmarks: bright body, two dark lung fields, mild noise.</summary>
    internal static class SyntheticChest
    {
        public static void WritePng(string path, int size, Random rng)
        {
            var px = new byte[size * size];
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                {
                    double dx = (x - size * (x < size / 2 ? 0.32 : 0.68)) / (0.17 * size), dy = (y - 0.5 * size) / (0.33 * size);
                    px[y * size + x] = (byte)Math.Clamp((dx * dx + dy * dy < 1 ? 60 : 200) + rng.Next(-8, 9), 0, 255);
                }
            using var img = Image.LoadPixelData<L8>(px, size, size);
            img.SaveAsPng(path);
        }
    }
}
