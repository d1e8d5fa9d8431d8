namespace Cxas.Core.Tests.Imaging
{
    /// <summary>
    /// The one-pass PNG decoder (8-bit grey, grey + alpha, RGB, RGBA) on files whose rows use every filter type in turn
    /// (None, Sub, Up, Average, Paeth, so each meets each neighbour), written by a Python encoder of this test's own and
    /// compared with PIL's <c>convert("RGB")</c>.
    /// </summary>
    public class PngFilterTests : TempFolderTests
    {
        private const string Encode = @"
import sys, zlib, struct, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(11)
h, w = 23, 37
def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)
def chunk(t, data):
    return struct.pack('>I', len(data)) + t + data + struct.pack('>I', zlib.crc32(t + data) & 0xffffffff)
for name, color, ch in (('grey', 0, 1), ('greyalpha', 4, 2), ('rgb', 2, 3), ('rgba', 6, 4)):
    img = rng.integers(0, 256, (h, w * ch), dtype=np.int64)
    img[h // 2:, : w * ch // 2] = 200                     # a flat area, where prediction is exact
    raw = bytearray()
    for y in range(h):
        f = y % 5
        raw.append(f)
        for x in range(w * ch):
            v = int(img[y, x])
            a = int(img[y, x - ch]) if x >= ch else 0
            b = int(img[y - 1, x]) if y > 0 else 0
            c = int(img[y - 1, x - ch]) if x >= ch and y > 0 else 0
            pred = (0, a, b, (a + b) // 2, paeth(a, b, c))[f]
            raw.append((v - pred) % 256)
    ihdr = struct.pack('>IIBBBBB', w, h, 8, color, 0, 0, 0)
    png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(bytes(raw), 9)) + chunk(b'IEND', b'')
    open(d + '/' + name + '.png', 'wb').write(png)
";

        [Theory]
        [InlineData("grey")]
        [InlineData("greyalpha")]
        [InlineData("rgb")]
        [InlineData("rgba")]
        public void EveryFilterTypeDecodesAsPilDoes(string name)
        {
            TestSupport.Python(Encode, Dir);
            var file = Path.Combine(Dir, name + ".png");
            var image = ImageLoader.Load(file);
            Assert.Equal((37, 23), (image.Width, image.Height));
            Assert.Equal(DecodeTests.PilRgb(file), DecodeTests.OurRgb(image));
        }

        [Fact]
        public void AnUnknownFilterTypeIsDamage()
        {
            TestSupport.Python(Encode, Dir);
            var file = Path.Combine(Dir, "grey.png");
            // Rewrite the IDAT with row 3's filter byte set to 5, with a valid zlib stream and CRC (only the filter is wrong).
            TestSupport.Python(@"
import sys, zlib, struct
p = sys.argv[1]
b = open(p, 'rb').read()
i = b.index(b'IDAT')
n = struct.unpack('>I', b[i - 4:i])[0]
raw = bytearray(zlib.decompress(b[i + 4:i + 4 + n]))
raw[3 * (37 + 1)] = 5
data = zlib.compress(bytes(raw))
idat = struct.pack('>I', len(data)) + b'IDAT' + data + struct.pack('>I', zlib.crc32(b'IDAT' + data) & 0xffffffff)
open(p, 'wb').write(b[:i - 4] + idat + b[i + 8 + n:])
", file);
            var ex = Assert.Throws<CxasException>(() => ImageLoader.Load(file));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Contains("grey.png", ex.Message);
        }
    }
}
