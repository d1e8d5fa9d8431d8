namespace Cxas.Core.Tests.Segmentation
{
    /// <summary>
    /// Overlays and reports take a result's radiograph from <see cref="SegmentationResult.LoadSourceImage"/>: the decoded
    /// image itself while it is in memory (proven by removing the file), else the file decoded again, checked for size.
    /// </summary>
    public sealed class SourceImageReuseTests : TempFolderTests
    {
        private string WritePng(string name, int width, int height)
        {
            var path = Path.Combine(Dir, name);
            using var img = new Image<Rgb24>(width, height);
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    img[x, y] = new Rgb24((byte)(x * 7), (byte)(y * 11), (byte)(x ^ y));
            img.SaveAsPng(path);
            return path;
        }

        private SegmentationResult Segment(SourceImage image) =>
            new Segmenter(CxasModel.Load(TestSupport.WriteClosedFormModel(Dir, 3, 16)), DeviceSpec.Cpu).Segment(image, TimeSpan.Zero);

        [Fact]
        public void ASegmentedResultReusesItsDecodedImageWithoutOpeningTheFile()
        {
            var png = WritePng("chest.png", 30, 20);
            var image = ImageLoader.Load(png);
            var result = Segment(image);
            File.Delete(png);
            Assert.Same(image, result.LoadSourceImage());
        }

        [Fact]
        public void AResultWithoutItsImageDecodesTheFileAgainAndRefusesOneThatChangedSize()
        {
            var png = WritePng("chest.png", 30, 20);
            var image = ImageLoader.Load(png);
            var transferred = ResultTransfer.Unpack(ResultTransfer.Pack(Segment(image))!);
            var again = transferred.LoadSourceImage();
            Assert.NotSame(image, again);
            Assert.Equal((30, 20), (again.Width, again.Height));
            for (int y = 0; y < 20; y++)
                for (int x = 0; x < 30; x++)
                    for (int c = 0; c < 3; c++)
                        Assert.Equal(image.Raster.GetValue(x, y, c), again.Raster.GetValue(x, y, c));
            Assert.Same(again, transferred.LoadSourceImage());

            var other = ResultTransfer.Unpack(ResultTransfer.Pack(Segment(image))!);
            WritePng("chest.png", 31, 20);
            var ex = Assert.Throws<CxasException>(() => other.LoadSourceImage());
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Equal(png, ex.FilePath);
            Assert.Contains("is now 31x20, not 30x20", ex.Message);
        }
    }
}
