using Cxas.Imaging;

namespace Cxas.Inference
{
    /// <summary>
    /// The preprocessing the reference applies before its network, as one step: nearest resize to the model's input
    /// size with PyTorch's rule (<see cref="NearestIndex"/>), values in [0,1] normalised per channel,
    /// (value - mean[c]) / std[c], into the [3, H, W] input tensor.
    /// </summary>
    internal static class ModelInput
    {
        /// <summary>Fills <paramref name="chw"/> ([3, dstHeight, dstWidth]) from <paramref name="image"/>.</summary>
        public static void Fill(ImageRaster image, int dstWidth, int dstHeight, float[] mean, float[] std, float[] chw) =>
            Fill(image, dstWidth, dstHeight, mean, std, chw.AsSpan());

        /// <summary>Fills <paramref name="chw"/> ([3, dstHeight, dstWidth]; one image's slice of a batch tensor, say).</summary>
        public static void Fill(ImageRaster image, int dstWidth, int dstHeight, float[] mean, float[] std, Span<float> chw)
        {
            if (chw.Length < 3 * dstWidth * dstHeight) throw new ArgumentException("Destination too small.", nameof(chw));
            var rows = NearestIndex.Map(image.Height, dstHeight);
            var cols = NearestIndex.Map(image.Width, dstWidth);
            int plane = dstWidth * dstHeight;
            for (int c = 0; c < 3; c++)
            {
                float m = mean[c];
                float s = std[c];
                for (int y = 0; y < dstHeight; y++)
                {
                    int sy = rows[y];
                    int o = c * plane + y * dstWidth;
                    for (int x = 0; x < dstWidth; x++)
                        chw[o + x] = (image.GetValue(cols[x], sy, c) - m) / s;
                }
            }
        }
    }
}
