using System.Text;
using Cxas.Import;

namespace Cxas.Core.Tests.Import
{
    /// <summary>Broken, foreign and hostile checkpoints, all built here: each must end in a clear CxasException.</summary>
    public sealed class MalformedCheckpointTests : TempFolderTests
    {
        private string Write(string name, byte[] bytes)
        {
            var path = Path.Combine(Dir, name);
            File.WriteAllBytes(path, bytes);
            return path;
        }

        /// <summary>Opens and imports; returns the exception, which must carry the checkpoint's path.</summary>
        private CxasException Fails(string path)
        {
            var target = Path.Combine(Dir, "out-" + Path.GetFileNameWithoutExtension(path));
            var ex = Assert.Throws<CxasException>(() => ModelImporter.Import(path, target, overwrite: false));
            Assert.Equal(Path.GetFullPath(path), ex.FilePath);
            Assert.False(Directory.Exists(target));
            Assert.DoesNotContain(Directory.GetDirectories(Dir), d => Path.GetFileName(d).StartsWith(".", StringComparison.Ordinal));
            return ex;
        }

        private TestCheckpointWriter ReducedWriter()
        {
            using var checkpoint = TorchCheckpoint.Open(TestSupport.ReducedCheckpoint);
            return TestCheckpointWriter.From(checkpoint);
        }

        [Fact]
        public void TruncatedZipIsInvalidData()
        {
            var bytes = File.ReadAllBytes(TestSupport.ReducedCheckpoint);
            var ex = Fails(Write("truncated.pth", bytes.Take(bytes.Length / 2).ToArray()));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
        }

        /// <summary>
        /// Flips 16 bytes in the middle of the largest tensor's stored data, leaving the zip's structure whole (as a bad
        /// disk or a corrupted transfer would); prints the entry's name. Python's zipfile is the independent judge: the
        /// original passes testzip(), the copy fails it at exactly that entry.
        /// </summary>
        private const string FlipTensorBytes = @"
import struct, sys, zipfile
path = sys.argv[1]
with zipfile.ZipFile(path) as z:
    assert z.testzip() is None
    info = max((i for i in z.infolist() if '/data/' in i.filename), key=lambda i: i.file_size)
with open(path, 'r+b') as f:
    f.seek(info.header_offset)
    name_length, extra_length = struct.unpack('<HH', f.read(30)[26:30])
    at = info.header_offset + 30 + name_length + extra_length + info.file_size // 2
    f.seek(at)
    flipped = bytes(b ^ 0xFF for b in f.read(16))
    f.seek(at)
    f.write(flipped)
with zipfile.ZipFile(path) as z:
    assert z.testzip() == info.filename, z.testzip()
print(info.filename)
";

        [Fact]
        public void EntryFailingItsCrcIsInvalidDataNamingTheEntry()
        {
            var path = Path.Combine(Dir, "crc.pth");
            File.Copy(TestSupport.ReducedCheckpoint, path);
            var entry = TestSupport.Python(FlipTensorBytes, path).Trim();
            Assert.StartsWith("reduced_w16/data/", entry);
            var ex = Fails(path);
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Contains($"entry '{entry}' fails its CRC-32 check", ex.Message);
        }

        [Fact]
        public void NotAZipIsInvalidData()
        {
            var ex = Fails(Write("text.pth", Encoding.ASCII.GetBytes("this is not a checkpoint at all")));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
        }

        [Fact]
        public void LegacyNonZipFormatIsNotSupported()
        {
            // torch.save(..., _use_new_zipfile_serialization=False) starts with a pickled magic number.
            var legacy = new byte[] { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e };
            var ex = Fails(Write("legacy.pth", legacy));
            Assert.Equal(CxasErrorKind.NotSupported, ex.Kind);
            Assert.Contains("legacy", ex.Message);
        }

        [Fact]
        public void ZipWithoutDataPklIsInvalidModel()
        {
            var ms = new MemoryStream();
            using (var archive = new System.IO.Compression.ZipArchive(ms, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
            {
                using var s = archive.CreateEntry("archive/notes.txt").Open();
                s.Write(new byte[] { 1, 2, 3 }, 0, 3);
            }
            var ex = Fails(Write("other.zip", ms.ToArray()));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
            Assert.Contains("data.pkl", ex.Message);
        }

        [Theory]
        [InlineData("GLOBAL")]
        [InlineData("STACK_GLOBAL")]
        public void PickleThatCallsOsSystemIsRefusedAndNeverRun(string style)
        {
            var marker = Path.Combine(Dir, "pwned");
            var command = "touch " + marker;
            var p = new MemoryStream();
            void Raw(params byte[] b) => p.Write(b, 0, b.Length);
            void Str(string s) { var b = Encoding.UTF8.GetBytes(s); p.WriteByte((byte)'X'); Raw(BitConverter.GetBytes(b.Length)); Raw(b); }
            if (style == "GLOBAL")
            {
                Raw(0x80, 2);
                Raw(Encoding.ASCII.GetBytes("cos\nsystem\n"));
            }
            else
            {
                Raw(0x80, 4);
                Str("os"); Str("system"); Raw(0x93);
            }
            Str(command);
            Raw(0x85, (byte)'R', (byte)'.');
            var path = Write("evil-" + style + ".pth", TestCheckpointWriter.Zip("archive", p.ToArray(), new List<float[]>()));

            var ex = Fails(path);
            Assert.Equal(CxasErrorKind.NotSupported, ex.Kind);
            Assert.Contains("os.system", ex.Message);
            Assert.False(File.Exists(marker));
        }

        [Fact]
        public void GlobalOutsideTheAllowListInsideAStateDictIsRefused()
        {
            // A state dict whose one value is built by builtins.eval: refused at the GLOBAL, before any REDUCE.
            var p = new MemoryStream();
            void Raw(params byte[] b) => p.Write(b, 0, b.Length);
            void Str(string s) { var b = Encoding.UTF8.GetBytes(s); p.WriteByte((byte)'X'); Raw(BitConverter.GetBytes(b.Length)); Raw(b); }
            Raw(0x80, 2, (byte)'}', (byte)'(');
            Str("model");
            Raw(Encoding.ASCII.GetBytes("cbuiltins\neval\n"));
            Str("1+1");
            Raw(0x85, (byte)'R', (byte)'u', (byte)'.');
            var ex = Fails(Write("eval.pth", TestCheckpointWriter.Zip("archive", p.ToArray(), new List<float[]>())));
            Assert.Equal(CxasErrorKind.NotSupported, ex.Kind);
            Assert.Contains("builtins.eval", ex.Message);
        }

        [Fact]
        public void TruncatedPickleIsInvalidModel()
        {
            var w = ReducedWriter();
            var pickle = w.Pickle();
            var storages = w.Tensors.Select(t => t.Storage).ToList();
            var ex = Fails(Write("short-pickle.pth", TestCheckpointWriter.Zip("archive", pickle.Take(pickle.Length - 40).ToArray(), storages)));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
        }

        [Fact]
        public void WellFormedRewriteImports()
        {
            // The control for the tests below: the same writer, unmodified, gives an importable checkpoint.
            var path = Write("control.pth", ReducedWriter().ToBytes());
            var result = ModelImporter.Import(path, Path.Combine(Dir, "control"), overwrite: false, new ImportOptions { Verify = false });
            Assert.Equal(5, result.Classes);
        }

        [Fact]
        public void RenamedKeyIsInvalidModelNamingTheKey()
        {
            var w = ReducedWriter();
            w.Tensors.Single(t => t.Name == "head.out.conv.weight").Name = "head.out.conv.weights";
            var ex = Fails(Write("renamed.pth", w.ToBytes()));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
            Assert.Contains("head.out.conv.weight", ex.Message);
        }

        [Fact]
        public void MissingTensorIsInvalidModel()
        {
            var w = ReducedWriter();
            w.Tensors.RemoveAll(t => t.Name == "backbone.backbone.layer3.2.bn2.running_var");
            var ex = Fails(Write("missing.pth", w.ToBytes()));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
            Assert.Contains("layer3.2.bn2.running_var", ex.Message);
        }

        [Fact]
        public void ForeignExtraTensorIsInvalidModel()
        {
            var w = ReducedWriter();
            w.Add("backbone.backbone.fc.weight", new long[] { 2, 2 }, new float[4]);
            var ex = Fails(Write("extra.pth", w.ToBytes()));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
            Assert.Contains("fc.weight", ex.Message);
        }

        [Fact]
        public void MisshapenTensorIsInvalidModelNamingTheTensor()
        {
            var w = ReducedWriter();
            var t = w.Tensors.Single(x => x.Name == "head.up2.conv.double_conv.3.weight");
            t.Shape = new[] { t.Shape[0], t.Shape[1], 1, 9 }; // same number of values, wrong shape
            var ex = Fails(Write("misshapen.pth", w.ToBytes()));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
            Assert.Contains("head.up2.conv.double_conv.3.weight", ex.Message);
        }

        [Fact]
        public void InconsistentChannelCountIsInvalidModel()
        {
            var w = ReducedWriter();
            var bias = w.Tensors.Single(x => x.Name == "head.up3.conv.double_conv.0.bias");
            bias.Shape = new long[] { bias.Shape[0] + 1 };
            bias.Storage = bias.Storage.Concat(new[] { 0f }).ToArray();
            var ex = Fails(Write("channels.pth", w.ToBytes()));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
            Assert.Contains("head.up3.conv.double_conv.0.bias", ex.Message);
        }

        [Fact]
        public void HugeDeclaredStorageIsRefusedWithoutAllocating()
        {
            var w = ReducedWriter();
            var t = w.Tensors.Single(x => x.Name == "head.up1.conv1.conv.0.weight");
            t.DeclaredCount = 1L << 40; // 4 TB of float32, in a file of about a megabyte
            var ex = Fails(Write("huge.pth", w.ToBytes()));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
        }

        [Fact]
        public void StorageShorterThanDeclaredIsInvalidModel()
        {
            var w = ReducedWriter();
            var t = w.Tensors.Single(x => x.Name == "backbone.backbone.layer0.0.weight");
            t.Storage = t.Storage.Take(t.Storage.Length - 7).ToArray();
            t.DeclaredCount = t.Storage.Length + 7;
            var ex = Fails(Write("short-storage.pth", w.ToBytes()));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
            Assert.Contains("layer0.0.weight", ex.Message);
        }

        [Fact]
        public void ViewPastTheEndOfItsStorageIsInvalidModel()
        {
            var w = ReducedWriter();
            var t = w.Tensors.Single(x => x.Name == "head.out.conv.bias");
            t.Offset = 2; // 5 values from offset 2 of a 5-value storage
            var ex = Fails(Write("past-end.pth", w.ToBytes()));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
            Assert.Contains("head.out.conv.bias", ex.Message);
        }

        [Theory]
        [InlineData("offset")]
        [InlineData("stride")]
        [InlineData("stride-offset")]
        public void OffsetsAndStridesThatOverflowAreInvalidData(string kind)
        {
            // Issue 10: an offset of 2^63-1 or strides of 2^61 used to escape as System.OverflowException.
            var w = ReducedWriter();
            var t = w.Tensors.Single(x => x.Name == "head.up1.conv1.conv.0.weight");
            if (kind == "offset") t.Offset = long.MaxValue;
            else
            {
                t.Strides = new[] { 1L << 61, 1L << 61, 1L << 61, 1L << 61 };
                if (kind == "stride-offset") t.Offset = (1L << 62) + 5;
            }
            var ex = Fails(Write("overflow-" + kind + ".pth", w.ToBytes()));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Contains("head.up1.conv1.conv.0.weight", ex.Message);
        }
    }
}
