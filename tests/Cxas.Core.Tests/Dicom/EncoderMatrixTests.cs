namespace Cxas.Core.Tests.Dicom
{
    /// <summary>
    /// The project's own codec matrix: a synthetic image is written as explicit VR little endian by the test, converted by
    /// dcmtk or GDCM into every transfer syntax, and decoded by our reader. Lossless results must equal the original
    /// exactly; lossy ones are held to the independent decoder (dcmdjpeg / dcmdjpls) and to a tolerance against the original.
    /// Needs no ../shared; skips (with a message) when a tool is not installed.
    /// </summary>
    public sealed class EncoderMatrixTests : TempFolderTests
    {
        public EncoderMatrixTests(ITestOutputHelper output) : base("cxas-matrix", output) { }

        /// <summary>Source images: (rows, columns, bits allocated, bits stored).</summary>
        private static readonly Dictionary<string, (int Rows, int Cols, int Allocated, int Stored)> Images = new Dictionary<string, (int, int, int, int)>
        {
            ["cr12"] = (96, 128, 16, 12),
            ["dx16odd"] = (61, 97, 16, 16),
            ["dx8"] = (64, 80, 8, 8),
            ["dx14"] = (72, 90, 16, 14),
        };

        /// <summary>Conversions: tool and arguments (source and output appended), comparison kind.</summary>
        private static readonly Dictionary<string, (string Tool, string[] Args, string Compare)> Conversions = new Dictionary<string, (string, string[], string)>
        {
            ["implicit"] = ("dcmconv", new[] { "+ti" }, "exact"),
            ["implicit-dataset-only"] = ("dcmconv", new[] { "+ti", "-F" }, "exact"),
            ["big-endian"] = ("dcmconv", new[] { "+tb" }, "exact"),
            ["deflated"] = ("dcmconv", new[] { "+td" }, "exact"),
            ["rle"] = ("dcmcrle", Array.Empty<string>(), "exact"),
            ["jpeg-sv1"] = ("dcmcjpeg", new[] { "+e1" }, "exact"),
            ["jpeg-sv1-fragments-no-bot"] = ("dcmcjpeg", new[] { "+e1", "+fs", "1", "-ot" }, "exact"),
            ["jpeg-p1"] = ("dcmcjpeg", new[] { "+el", "+sv", "1" }, "exact"),
            ["jpeg-p2"] = ("dcmcjpeg", new[] { "+el", "+sv", "2" }, "exact"),
            ["jpeg-p3"] = ("dcmcjpeg", new[] { "+el", "+sv", "3" }, "exact"),
            ["jpeg-p4"] = ("dcmcjpeg", new[] { "+el", "+sv", "4" }, "exact"),
            ["jpeg-p5"] = ("dcmcjpeg", new[] { "+el", "+sv", "5" }, "exact"),
            ["jpeg-p6"] = ("dcmcjpeg", new[] { "+el", "+sv", "6" }, "exact"),
            ["jpeg-p7"] = ("dcmcjpeg", new[] { "+el", "+sv", "7" }, "exact"),
            ["jpeg-extended"] = ("dcmcjpeg", new[] { "+ee" }, "dcmdjpeg"),
            ["jpeg-baseline"] = ("dcmcjpeg", new[] { "+eb" }, "dcmdjpeg"),
            ["jpegls"] = ("dcmcjpls", Array.Empty<string>(), "exact"),
            ["jpegls-fragments-no-bot"] = ("dcmcjpls", new[] { "+fs", "1", "-ot" }, "exact"),
            ["jpegls-near2"] = ("dcmcjpls", new[] { "+en", "+md", "2" }, "dcmdjpls"),
            ["j2k"] = ("gdcmconv", new[] { "--j2k" }, "exact"),
        };

        public static IEnumerable<object[]> Cases()
        {
            foreach (var image in Images)
                foreach (var conv in Conversions)
                {
                    if (conv.Key == "jpeg-baseline" && image.Value.Stored != 8) continue; // baseline is 8-bit only
                    if (conv.Key == "jpeg-extended" && image.Value.Stored > 12) continue; // extended holds 8 or 12 bits
                    yield return new object[] { image.Key, conv.Key };
                }
        }

        [OracleTheory("dcmconv", "dcmcrle", "dcmcjpeg", "dcmdjpeg", "dcmcjpls", "dcmdjpls", "gdcmconv")]
        [MemberData(nameof(Cases))]
        public void ConvertedFileDecodesToTheOriginal(string imageName, string conversion)
        {
            var (rows, cols, allocated, stored) = Images[imageName];
            var (toolName, args, compare) = Conversions[conversion];
            Oracles.Require(toolName);
            var tool = TestSupport.Tool(toolName)!;
            var original = SyntheticDicom.Image(rows, cols, stored, rows * cols);
            var src = Path.Combine(Dir, "src.dcm");
            SyntheticDicom.Write(src, original, new SyntheticDicom.Options { Rows = rows, Columns = cols, BitsAllocated = allocated, BitsStored = stored });
            var dst = Path.Combine(Dir, "dst.dcm");
            var r = TestSupport.Run(tool, args.Concat(new[] { src, dst }).ToArray());
            Assert.True(r.Exit == 0 && File.Exists(dst), $"{toolName} failed: {r.Err}");

            var got = SyntheticDicom.DecodeStored(dst);
            Assert.Equal(cols, got.Width);
            Assert.Equal(rows, got.Height);
            var truth = original.Select(v => (int)v).ToArray();
            switch (compare)
            {
                case "exact":
                    Assert.Null(SharedCorpusTests.Compare(got.Values, truth, stored, null));
                    break;
                case "dcmdjpeg":
                case "dcmdjpls":
                {
                    // The independent decoder's output, stored natively, read back.
                    var decoded = Path.Combine(Dir, "decoded.dcm");
                    var d = TestSupport.Run(TestSupport.Tool(compare)!, new[] { dst, decoded });
                    Assert.True(d.Exit == 0, d.Err);
                    var reference = SyntheticDicom.DecodeStored(decoded).Values;
                    int maxDiff = got.Values.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
                    Out.WriteLine($"max difference to {compare}: {maxDiff}");
                    // JPEG-LS decoding is exact; DCT decoders may differ by the IDCT's rounding (we use a float IDCT, IJG an integer one).
                    Assert.True(maxDiff <= (compare == "dcmdjpls" ? 0 : 2), $"differs from {compare} by {maxDiff}");
                    Assert.Null(SharedCorpusTests.Compare(got.Values, truth, stored, compare == "dcmdjpls" ? "near" : "dct"));
                    break;
                }
            }
            // The whole reader accepts it and fills SourceInfo.
            var image = ImageLoader.Load(dst);
            Assert.Equal("DICOM", image.Info.Format);
            Assert.Equal("CXAS-SYN-1", image.Info.PatientId);
            Assert.Equal("CR", image.Info.Modality);
            Assert.Equal("PA", image.Info.ViewPosition);
        }

        /// <summary>
        /// Subsampled chroma of a colour JPEG, brought to full resolution as libjpeg does: an RGB image (three seeded
        /// gradients) compressed by dcmcjpeg to YCbCr, decoded by dcmdjpeg without colour conversion (+cn) and stored
        /// natively; every sample within 1 of ours (the inverse DCTs round differently). Replicating chroma differs by far
        /// more wherever chroma changes.
        /// </summary>
        [OracleTheory("dcmcjpeg", "dcmdjpeg")]
        [InlineData("+s2", 37, 29)] // 4:2:2: half width
        [InlineData("+n1", 37, 29)] // dcmtk's "4:1:1": half width and height, odd sizes
        [InlineData("+n1", 64, 48)]
        [InlineData("+s2", 4, 6)]   // two chroma columns: libjpeg replicates
        public void SubsampledChromaIsUpsampledAsLibjpeg(string sampling, int cols, int rows)
        {
            var rgb = new ushort[rows * cols * 3];
            for (int c = 0; c < 3; c++)
            {
                var plane = SyntheticDicom.Image(rows, cols, 8, 7 + c);
                for (int i = 0; i < plane.Length; i++) rgb[i * 3 + c] = c == 1 ? (ushort)(255 - plane[i]) : plane[i];
            }
            var src = Path.Combine(Dir, "rgb.dcm");
            SyntheticDicom.Write(src, rgb, new SyntheticDicom.Options
            {
                Rows = rows, Columns = cols, BitsAllocated = 8, BitsStored = 8, Samples = 3, Photometric = "RGB", SopClass = "1.2.840.10008.5.1.4.1.1.7", Modality = "OT",
            });
            var jpeg = Path.Combine(Dir, "ybr.dcm");
            var r = TestSupport.Run(TestSupport.Tool("dcmcjpeg")!, new[] { "+eb", "+cy", sampling, src, jpeg });
            Assert.True(r.Exit == 0, r.Err);
            var decoded = Path.Combine(Dir, "decoded.dcm");
            r = TestSupport.Run(TestSupport.Tool("dcmdjpeg")!, new[] { "+cn", jpeg, decoded });
            Assert.True(r.Exit == 0, r.Err);

            var ours = SyntheticDicom.DecodeStored(jpeg);
            var reference = SyntheticDicom.DecodeStored(decoded);
            Assert.Equal((3, cols, rows), (ours.Samples, ours.Width, ours.Height));
            int maxDiff = ours.Values.Zip(reference.Values, (a, b) => Math.Abs(a - b)).Max();
            Out.WriteLine($"{sampling} {cols}x{rows}: max difference to dcmdjpeg {maxDiff}");
            Assert.True(maxDiff <= 1, $"differs from dcmdjpeg by {maxDiff}");
        }

        [OracleTheory("dcmcjpeg", "dcmcrle", "dcmcjpls")]
        [InlineData("dcmcjpeg", new[] { "+e1" })]                        // offset table filled
        [InlineData("dcmcjpeg", new[] { "+e1", "+fs", "1", "-ot" })]     // several fragments per frame, empty offset table
        [InlineData("dcmcrle", new string[0])]
        [InlineData("dcmcjpls", new[] { "+fs", "1", "-ot" })]
        public void MultiFrameUsesFirstFrameAndWarns(string toolName, string[] args)
        {
            Oracles.Require(toolName);
            var tool = TestSupport.Tool(toolName)!;
            const int rows = 70, cols = 90;
            var original = SyntheticDicom.Image(rows, cols, 12, 11);
            var src = Path.Combine(Dir, "multi.dcm");
            SyntheticDicom.Write(src, original, new SyntheticDicom.Options { Rows = rows, Columns = cols, Frames = 3 });
            var dst = Path.Combine(Dir, "multi-enc.dcm");
            var r = TestSupport.Run(tool, args.Concat(new[] { src, dst }).ToArray());
            Assert.True(r.Exit == 0, r.Err);
            foreach (var file in new[] { src, dst })
            {
                var got = SyntheticDicom.DecodeStored(file);
                Assert.Equal(original.Select(v => (int)v), got.Values);
                var image = ImageLoader.Load(file);
                Assert.Contains(image.Info.Warnings, w => w.Contains("frame 1 of 3"));
            }
        }
    }
}
