using System.Text.Json;
using Cxas.Export;

namespace Cxas.Core.Tests.Export
{
    /// <summary>Written masks are read back with numpy and PIL (independent decoders) and compared pixel for pixel.</summary>
    public class ExportTests : TempFolderTests
    {
        /// <summary>A result with random grid bits (class 2 empty) at an odd full size.</summary>
        internal static SegmentationResult RandomResult(string name, int width, int height, int seed, int classes = 5)
        {
            var labels = Enumerable.Range(0, classes).Select(i => i == 1 ? "left lung" : "class " + i).ToArray();
            var masks = new MaskSet(labels, 32, 24, width, height);
            var rng = new Random(seed);
            for (int c = 0; c < classes; c++)
            {
                if (c == 2) continue;
                for (int gy = 0; gy < 24; gy++)
                    for (int gx = 0; gx < 32; gx++)
                        masks.SetGridBit(c, gx, gy, rng.Next(c + 2) == 0);
            }
            var info = new SourceInfo("/data/" + name + ".png", "PNG");
            return new SegmentationResult(info, width, height, "m", "/models/m", "Cpu", masks, TimeSpan.Zero, TimeSpan.Zero);
        }

        /// <summary>Per class: pixel count and a position checksum (sum of y*W+x over set pixels), from our masks.</summary>
        private static string Signature(SegmentationResult r, IEnumerable<int> classes)
        {
            var parts = new List<string>();
            foreach (var c in classes)
            {
                var m = r.Masks.GetMask(c);
                long n = 0, sum = 0;
                for (int y = 0; y < r.Height; y++)
                    for (int x = 0; x < r.Width; x++)
                        if (m[x, y]) { n++; sum += (long)y * r.Width + x; }
                parts.Add($"{n}:{sum}");
            }
            return string.Join(" ", parts);
        }

        private const string PySignature = @"
def sig(a):
    import numpy as np
    H, W = a.shape
    ys, xs = np.nonzero(a)
    return '%d:%d' % (len(ys), int((ys.astype(np.int64) * W + xs).sum()))
";

        [Fact]
        public void NpyIsABoolArrayNumpyReadsBack()
        {
            var r = RandomResult("chest", 77, 53, 1);
            var exporter = new MaskExporter(Dir, MaskFormat.Npy, overwrite: false);
            var record = exporter.Export(r)[0];
            Assert.Equal(Path.Combine(Dir, "chest.npy"), record.OutputPath);
            var py = TestSupport.Python(PySignature + @"
import sys, numpy as np
a = np.load(sys.argv[1])
print(a.dtype, a.shape)
print(' '.join(sig(a[c]) for c in range(a.shape[0])))", record.OutputPath).Split('\n');
            Assert.Equal("bool (5, 53, 77)", py[0].Trim());
            Assert.Equal(Signature(r, Enumerable.Range(0, 5)), py[1].Trim());
        }

        [Fact]
        public void NpzHoldsArr0AndLabelSubsetsKeepTheirOrder()
        {
            var r = RandomResult("chest", 64, 40, 2);
            var exporter = new MaskExporter(Dir, MaskFormat.Npz, false, new[] { "class 3", "LEFT LUNG" });
            var record = exporter.Export(r)[0];
            var py = TestSupport.Python(PySignature + @"
import sys, numpy as np
z = np.load(sys.argv[1])
a = z['arr_0']
print(list(z.keys()), a.dtype, a.shape)
print(' '.join(sig(a[c]) for c in range(a.shape[0])))", record.OutputPath).Split('\n');
            Assert.Equal("['arr_0'] bool (2, 40, 64)", py[0].Trim());
            Assert.Equal(Signature(r, new[] { 3, 1 }), py[1].Trim());
        }

        [Fact]
        public void PngLayoutIsOneOneBitFilePerClassUnderTheStem()
        {
            var r = RandomResult("case-01", 91, 67, 3);
            var record = new MaskExporter(Dir, MaskFormat.Png, false).Export(r)[0];
            Assert.Equal(Path.Combine(Dir, "case-01"), record.OutputPath);
            var files = Directory.GetFiles(record.OutputPath).Select(Path.GetFileName).OrderBy(f => f).ToArray();
            Assert.Equal(r.Masks.Labels.Select(l => l + ".png").OrderBy(f => f).ToArray(), files);
            var py = TestSupport.Python(PySignature + @"
import sys, numpy as np
from PIL import Image
out = []
for name in sys.argv[2:]:
    im = Image.open(sys.argv[1] + '/' + name + '.png')
    assert im.mode == '1', im.mode
    out.append(sig(np.array(im)))
print(' '.join(out))", new[] { record.OutputPath }.Concat(r.Masks.Labels).ToArray());
            Assert.Equal(Signature(r, Enumerable.Range(0, 5)), py.Trim());
        }

        [Fact]
        public void JpgMasksDecodeCloseToTheMask()
        {
            var r = RandomResult("j", 48, 48, 4);
            var record = new MaskExporter(Dir, MaskFormat.Jpg, false, new[] { "class 0" }).Export(r)[0];
            var py = TestSupport.Python(PySignature + @"
import sys, numpy as np
from PIL import Image
a = np.array(Image.open(sys.argv[1]).convert('L')) > 127
print(sig(a))", Path.Combine(record.OutputPath, "class 0.jpg"));
            var ours = Signature(r, new[] { 0 }).Split(':');
            var theirs = py.Trim().Split(':');
            Assert.InRange(long.Parse(theirs[0]), long.Parse(ours[0]) - 20, long.Parse(ours[0]) + 20);
        }

        [Fact]
        public void CocoFileIsValidAndItsRleDecodesToTheMasks()
        {
            var a = RandomResult("a", 70, 45, 5);
            var b = RandomResult("b", 33, 81, 6);
            var exporter = new MaskExporter(Dir, MaskFormat.Json, false);
            exporter.Export(a);
            exporter.Export(b);
            var target = Path.Combine(Dir, MaskExporter.CocoFileName);
            Assert.False(File.Exists(target)); // appears only when complete
            exporter.Complete();
            exporter.Dispose();

            using var doc = JsonDocument.Parse(File.ReadAllText(target));
            var cats = doc.RootElement.GetProperty("categories").EnumerateArray().ToList();
            Assert.Equal(Enumerable.Range(1, 5), cats.Select(c => c.GetProperty("id").GetInt32()));
            var anns = doc.RootElement.GetProperty("annotations").EnumerateArray().ToList();
            Assert.Equal(anns.Count, anns.Select(x => x.GetProperty("id").GetInt64()).Distinct().Count());
            Assert.Equal(8, anns.Count); // 4 non-empty classes per image
            var images = doc.RootElement.GetProperty("images").EnumerateArray().ToList();
            Assert.Equal(new[] { 70, 33 }, images.Select(i => i.GetProperty("width").GetInt32()));
            Assert.Equal(new[] { 45, 81 }, images.Select(i => i.GetProperty("height").GetInt32()));

            // Decode the uncompressed RLE in Python (column-major, as pycocotools does) and compare.
            var py = TestSupport.Python(PySignature + @"
import sys, json, numpy as np
d = json.load(open(sys.argv[1]))
for ann in d['annotations']:
    h, w = ann['segmentation']['size']
    flat = np.zeros(h * w, dtype=bool)
    pos, val = 0, False
    for n in ann['segmentation']['counts']:
        flat[pos:pos + n] = val
        pos += n
        val = not val
    assert pos == h * w
    m = flat.reshape((w, h)).T
    x, y, bw, bh = ann['bbox']
    ys, xs = np.nonzero(m)
    assert (x, y, bw, bh) == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    assert ann['area'] == m.sum()
    print(ann['image_id'], ann['category_id'], sig(m))", target);
            var expected = new List<string>();
            int imageId = 1;
            foreach (var r in new[] { a, b })
            {
                for (int c = 0; c < 5; c++)
                    if (c != 2) expected.Add($"{imageId} {c + 1} {Signature(r, new[] { c })}");
                imageId++;
            }
            Assert.Equal(expected, py.Trim().Split('\n').Select(l => l.Trim()));
        }

        [Fact]
        public void ExistingOutputsAreKeptWithoutOverwriteAndReplacedWithIt()
        {
            var r = RandomResult("keep", 20, 20, 7);
            var target = Path.Combine(Dir, "keep.npy");
            File.WriteAllText(target, "precious");
            var ex = Assert.Throws<CxasException>(() => new MaskExporter(Dir, MaskFormat.Npy, false).Export(r));
            Assert.Equal(CxasErrorKind.AlreadyExists, ex.Kind);
            Assert.Equal("precious", File.ReadAllText(target));
            new MaskExporter(Dir, MaskFormat.Npy, true).Export(r);
            Assert.NotEqual("precious", File.ReadAllText(target));
            Assert.Single(Directory.GetFileSystemEntries(Dir));

            Directory.CreateDirectory(Path.Combine(Dir, "keep"));
            File.WriteAllText(Path.Combine(Dir, "keep", "old.png"), "x");
            Assert.Throws<CxasException>(() => new MaskExporter(Dir, MaskFormat.Png, false).Export(r));
            new MaskExporter(Dir, MaskFormat.Png, true).Export(r);
            // Overwriting replaces what the export writes (its 5 class files), nothing else: old.png stays.
            Assert.Equal("x", File.ReadAllText(Path.Combine(Dir, "keep", "old.png")));
            Assert.Equal(6, Directory.GetFiles(Path.Combine(Dir, "keep")).Length);
        }

        [Fact]
        public void AFailedWriteLeavesNothingBehind()
        {
            var r = RandomResult("boom", 20, 20, 8);
            var ex = Assert.Throws<InvalidOperationException>(() =>
                Cxas.IO.AtomicOutput.WriteFile(Path.Combine(Dir, "boom.npy"), false, s => { s.WriteByte(1); throw new InvalidOperationException("disk gone"); }));
            Assert.Empty(Directory.GetFileSystemEntries(Dir));
            var coco = new MaskExporter(Dir, MaskFormat.Json, false);
            coco.Export(r);
            coco.Dispose(); // stopped before Complete
            Assert.Empty(Directory.GetFileSystemEntries(Dir));
        }

        [Fact]
        public void UnknownLabelIsAClearError()
        {
            var r = RandomResult("x", 10, 10, 9);
            var ex = Assert.Throws<CxasException>(() => new MaskExporter(Dir, MaskFormat.Npy, false, new[] { "spleen" }).Export(r));
            Assert.Contains("spleen", ex.Message);
        }
    }
}
