using System.Globalization;
using Cxas.Imaging;

namespace Cxas.Dicom
{
    /// <summary>
    /// Reads a DICOM chest radiograph (CR, DX, secondary capture, ...) into the grey image the model sees.
    /// <para>Pixel pipeline, in order:</para>
    /// <list type="number">
    /// <item>Stored values: frame 0 decoded, masked to BitsStored (the bits ending at HighBit), sign-extended when PixelRepresentation is 1.</item>
    /// <item>Colour: RGB is reduced to grey with Rec. 601 luma (0.299 R + 0.587 G + 0.114 B); YBR_FULL, YBR_FULL_422 and
    /// YBR_PARTIAL_422 (native or JPEG YCbCr) keep their Y sample. YBR_RCT and YBR_ICT name the component transform of a
    /// JPEG 2000 codestream, which the decoder has already undone: those frames are RGB. Palette colour is not supported.</item>
    /// <item>Modality LUT: the Modality LUT Sequence when present, else Rescale Slope/Intercept (1 and 0 when absent).</item>
    /// <item>VOI: the first VOI LUT Sequence item when present (as pydicom prefers); else the first Window Center/Width pair with
    /// VOI LUT Function LINEAR (default), LINEAR_EXACT or SIGMOID; else none. A window of width below 1 is ignored, with a warning.</item>
    /// <item>Presentation: MONOCHROME1, or Presentation LUT Shape INVERSE, inverts the result (the two are not combined: DX files
    /// state INVERSE for MONOCHROME1, which means the same single inversion).</item>
    /// <item>Min-max scaling to [0,1] as the reference does (a flat image becomes all 0); the same grey goes to all three
    /// channels. Inversion is applied after scaling (v' = 1 - v), so a MONOCHROME1 file gives exactly the complement of its
    /// MONOCHROME2 twin and, the reference being trained on MONOCHROME2-looking images, segments like it.</item>
    /// </list>
    /// <para>Multi-frame files: frame 0 is used and a warning says so in <see cref="SourceInfo.Warnings"/>.</para>
    /// <para>Pixel spacing: PixelSpacing when present (SpacingSource "PixelSpacing"), else ImagerPixelSpacing (at the detector, not
    /// corrected for magnification; SpacingSource "ImagerPixelSpacing"). The first value is the row spacing.</para>
    /// </summary>
    public sealed class DicomImageReader : IImageReader
    {
        /// <summary>The frame decoders this reader hands compressed frames to: its configuration's.</summary>
        private readonly FrameDecoders _decoders;

        /// <summary>A reader with the built-in frame decoders.</summary>
        public DicomImageReader() : this(FrameDecoders.Default) { }

        /// <summary>A reader whose compressed frames go to <paramref name="decoders"/> (a configuration's own set).</summary>
        internal DicomImageReader(FrameDecoders decoders) => _decoders = decoders;

        /// <summary>The decoders by transfer syntax this reader uses.</summary>
        internal FrameDecoders Decoders => _decoders;

        /// <summary>
        /// The DICOM reader of <paramref name="readers"/>, for an object held in memory (a DICOMweb or DIMSE instance named
        /// <paramref name="name"/>); NotSupported when the configuration reads no DICOM.
        /// </summary>
        internal static DicomImageReader Of(ImageReaderConfiguration readers, string name)
        {
            foreach (var reader in readers.Readers)
                if (reader is DicomImageReader dicom) return dicom;
            throw new CxasException(CxasErrorKind.NotSupported,
                $"'{name}' is a DICOM instance, and the reader configuration in use reads no DICOM (it reads {string.Join(", ", readers.Readers.Select(r => r.Format))}).", name);
        }

        public string Format => "DICOM";
        public IReadOnlyCollection<string> Extensions { get; } = new[] { ".dcm", ".dicom" };
        /// <summary>A 128-byte preamble and "DICM"; files without the preamble are recognised from their first 8 bytes.</summary>
        public int HeaderSize => 132;

        public bool Recognise(ReadOnlySpan<byte> head) => DicomParser.Recognise(head);

        public SourceImage Read(string path, ImageReadOptions options) => ReadGuarded(path, () => DicomParser.ReadFile(path), options);

        /// <summary>Reads a file within the default limits.</summary>
        public SourceImage Read(string path) => Read(path, ImageReadOptions.Default);

        /// <summary>Decodes a DICOM object held in memory (e.g. retrieved over DICOMweb); <paramref name="name"/> names it in errors and becomes <see cref="SourceInfo.Path"/>.</summary>
        public SourceImage Read(string name, byte[] data, ImageReadOptions? options = null) =>
            ReadGuarded(name, () => DicomParser.Parse(name, data), options ?? ImageReadOptions.Default);

        private SourceImage ReadGuarded(string path, Func<DicomFile> parse, ImageReadOptions options)
        {
            try
            {
                return Read(parse(), options, _decoders);
            }
            catch (CxasException)
            {
                throw;
            }
            catch (Exception ex) when (ex is IndexOutOfRangeException || ex is ArgumentException || ex is OverflowException
                                       || ex is InvalidOperationException || ex is NullReferenceException || ex is FormatException
                                       || ex is System.IO.InvalidDataException)
            {
                // Defensive: any inconsistency that slipped past the explicit checks is still a data error.
                throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' is not a valid DICOM file: {ex.Message}", path, ex);
            }
        }

        /// <summary>Parses and decodes a file's bytes without the defensive wrapper of <see cref="Read(string)"/> (tests use it to
        /// prove that corrupt input only ever raises <see cref="CxasException"/>).</summary>
        internal static SourceImage Decode(string path, byte[] data) => Read(DicomParser.Parse(path, data), ImageReadOptions.Default, FrameDecoders.Default);

        internal static SourceImage Read(DicomFile file, ImageReadOptions options, FrameDecoders decoders)
        {
            // Decode first, gathering the warnings, then describe the source complete (it is immutable).
            var ds = file.Dataset;
            var warnings = new List<string>();
            var d = DicomPixels.Describe(file);
            if (d.Frames > 1) warnings.Add($"Multi-frame image: frame 1 of {d.Frames} was used; the other frames were ignored.");
            var stored = DicomPixels.DecodeFirstFrame(file, d, options, decoders);
            warnings.AddRange(stored.Warnings);
            var grey = ToGrey(stored, d, ds, warnings, file.Path);
            var spacing = Spacing(ds);
            var info = new SourceInfo(file.Path, "DICOM")
            {
                PatientId = ds.GetString(Tags.PatientId),
                StudyInstanceUid = ds.GetString(Tags.StudyInstanceUid),
                SeriesInstanceUid = ds.GetString(Tags.SeriesInstanceUid),
                SopInstanceUid = ds.GetString(Tags.SopInstanceUid) ?? file.Meta.GetString(Tags.MediaStorageSopInstanceUid),
                Modality = ds.GetString(Tags.Modality),
                ViewPosition = ds.GetString(Tags.ViewPosition),
                SopClassUid = ds.GetString(Tags.SopClassUid) ?? file.Meta.GetString(Tags.MediaStorageSopClassUid),
                FrameOfReferenceUid = ds.GetString(Tags.FrameOfReferenceUid),
                RowSpacingMm = spacing?.Row,
                ColumnSpacingMm = spacing?.Column,
                SpacingSource = spacing?.Source,
                Warnings = warnings,
                Dicom = DicomIdentityReader.Read(file, spacing?.Row, spacing?.Column),
            };
            return new SourceImage(new GrayRaster(stored.Width, stored.Height, grey), info);
        }

        /// <summary>Row and column spacing from PixelSpacing, else ImagerPixelSpacing, with the attribute's name; null when neither is usable.</summary>
        private static (double Row, double Column, string Source)? Spacing(DicomDataset ds)
        {
            foreach (var (tag, name) in new[] { (Tags.PixelSpacing, "PixelSpacing"), (Tags.ImagerPixelSpacing, "ImagerPixelSpacing") })
            {
                var v = ds.GetNumbers(tag);
                if (v.Length >= 2 && v[0] > 0 && v[1] > 0) return (v[0], v[1], name);
            }
            return null;
        }

        /// <summary>Stored values -> [0,1] grey, following the pipeline in the class documentation.</summary>
        internal static float[] ToGrey(StoredFrame stored, PixelDescription d, DicomDataset ds, List<string> warnings, string path)
        {
            long pixels = (long)stored.Width * stored.Height;
            var output = new float[pixels];
            if (stored.Samples == 3)
            {
                bool rgb = d.Photometric == "RGB" || d.Photometric == "YBR_RCT" || d.Photometric == "YBR_ICT";
                bool ybr = !rgb && d.Photometric.StartsWith("YBR", StringComparison.Ordinal);
                var v = stored.Values;
                for (long i = 0; i < pixels; i++)
                    output[i] = ybr ? v[3 * i] : (float)(0.299 * v[3 * i] + 0.587 * v[3 * i + 1] + 0.114 * v[3 * i + 2]);
                if (!rgb && !ybr) warnings.Add($"Photometric interpretation {d.Photometric} with 3 samples was read as RGB.");
                ScaleMinMax(output, invert: false);
                return output;
            }
            if (d.Photometric == "PALETTE COLOR")
                throw DicomPixels.Unsupported(path, "palette colour images are not supported.");

            var values = stored.Values;
            int min = int.MaxValue, max = int.MinValue;
            foreach (var x in values) { if (x < min) min = x; if (x > max) max = x; }
            Func<double, double> modality = ModalityTransform(ds, d.Signed);
            Func<double, double>? voi = VoiTransform(ds, warnings, d.Signed || min < 0 || modality(min) < 0 || modality(max) < 0);
            long range = (long)max - min + 1;
            if (range <= (1 << 20))
            {
                var table = new float[range];
                for (long i = 0; i < range; i++)
                {
                    double m = modality(min + i);
                    table[i] = (float)(voi != null ? voi(m) : m);
                }
                for (long i = 0; i < pixels; i++) output[i] = table[values[i] - min];
            }
            else
            {
                for (long i = 0; i < pixels; i++)
                {
                    double m = modality(values[i]);
                    output[i] = (float)(voi != null ? voi(m) : m);
                }
            }
            bool mono1 = d.Photometric == "MONOCHROME1";
            var shape = ds.GetString(Tags.PresentationLutShape);
            bool inverse = string.Equals(shape, "INVERSE", StringComparison.OrdinalIgnoreCase);
            ScaleMinMax(output, invert: mono1 || inverse);
            return output;
        }

        private static void ScaleMinMax(float[] v, bool invert)
        {
            float min = float.MaxValue, max = float.MinValue;
            foreach (var x in v) { if (x < min) min = x; if (x > max) max = x; }
            float span = max - min;
            for (int i = 0; i < v.Length; i++)
            {
                float s = span > 0 ? (v[i] - min) / span : 0f;
                v[i] = invert ? 1f - s : s;
            }
        }

        private static Func<double, double> ModalityTransform(DicomDataset ds, bool signedInput)
        {
            var lut = ds.FirstItem(Tags.ModalityLutSequence);
            var table = lut != null ? Lut.From(lut, signedInput) : null;
            if (table != null) return table.Apply;
            double slope = ds.GetNumber(Tags.RescaleSlope) ?? 1;
            double intercept = ds.GetNumber(Tags.RescaleIntercept) ?? 0;
            if (slope == 0) slope = 1;
            return x => x * slope + intercept;
        }

        private static Func<double, double>? VoiTransform(DicomDataset ds, List<string> warnings, bool signedInput)
        {
            var item = ds.FirstItem(Tags.VoiLutSequence);
            var lut = item != null ? Lut.From(item, signedInput) : null;
            if (lut != null) return lut.Apply;
            var centres = ds.GetNumbers(Tags.WindowCenter);
            var widths = ds.GetNumbers(Tags.WindowWidth);
            if (centres.Length == 0 || widths.Length == 0) return null;
            double c = centres[0], w = widths[0];
            var function = (ds.GetString(Tags.VoiLutFunction) ?? "LINEAR").ToUpperInvariant();
            switch (function)
            {
                case "LINEAR_EXACT":
                    if (w <= 0) { warnings.Add($"Window width {w.ToString(CultureInfo.InvariantCulture)} is not positive: window ignored."); return null; }
                    return x => x <= c - w / 2 ? 0 : x > c + w / 2 ? 1 : (x - c) / w + 0.5;
                case "SIGMOID":
                    if (w <= 0) { warnings.Add($"Window width {w.ToString(CultureInfo.InvariantCulture)} is not positive: window ignored."); return null; }
                    return x => 1 / (1 + Math.Exp(-4 * (x - c) / w));
                default:
                    if (w < 1) { warnings.Add($"Window width {w.ToString(CultureInfo.InvariantCulture)} is below 1: window ignored."); return null; }
                    return x => x <= c - 0.5 - (w - 1) / 2 ? 0 : x > c - 0.5 + (w - 1) / 2 ? 1 : (x - (c - 0.5)) / (w - 1) + 0.5;
            }
        }

        /// <summary>A Modality or VOI LUT: LUT Descriptor (entries, first mapped value, bits) and LUT Data.</summary>
        private sealed class Lut
        {
            private int _first;
            private int[] _data = Array.Empty<int>();

            /// <summary>Reads a LUT; its first mapped value is SS when the values it maps can be negative (signed input).</summary>
            public static Lut? From(DicomDataset item, bool signedInput)
            {
                var desc = item.Get(Tags.LutDescriptor);
                var data = item.Get(Tags.LutData);
                if (desc == null || data == null || desc.Length < 6 || data.Length < 1) return null;
                int entries = DicomDataset.ReadUInt16(desc, 0);
                if (entries == 0) entries = 65536;
                int first = DicomDataset.ReadUInt16(desc, 2);
                // The first mapped value is US or SS: it is SS where the input can be negative.
                if (desc.Vr == "SS" || signedInput) first = (short)first;
                int bits = DicomDataset.ReadUInt16(desc, 4);
                var values = new int[entries];
                if (bits <= 8 && data.Length >= entries && data.Length < 2 * entries)
                    for (int i = 0; i < entries; i++) values[i] = data.Buffer[data.Offset + i];
                else
                {
                    if (data.Length < 2 * entries) return null;
                    for (int i = 0; i < entries; i++) values[i] = DicomDataset.ReadUInt16(data, 2 * i);
                }
                return new Lut { _first = first, _data = values };
            }

            public double Apply(double x)
            {
                long i = (long)Math.Round(x) - _first;
                if (i < 0) i = 0;
                if (i >= _data.Length) i = _data.Length - 1;
                return _data[i];
            }
        }
    }
}
