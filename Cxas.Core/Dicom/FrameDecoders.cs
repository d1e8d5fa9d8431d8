using Cxas.Imaging;

namespace Cxas.Dicom
{
    /// <summary>A transfer syntax: its UID and the name PS3.6 gives it.</summary>
    internal sealed class TransferSyntax
    {
        public TransferSyntax(string uid, string name)
        {
            Uid = uid;
            Name = name;
        }

        public string Uid { get; }
        public string Name { get; }
        public override string ToString() => $"{Uid} ({Name})";
    }

    /// <summary>One compressed frame and what the file's header says it holds.</summary>
    internal sealed class FrameInput
    {
        public FrameInput(string path, ArraySegment<byte> bytes, PixelDescription description, ImageReadOptions limits)
        {
            Path = path;
            Bytes = bytes;
            Description = description;
            Limits = limits;
        }

        public string Path { get; }
        public ArraySegment<byte> Bytes { get; }
        public PixelDescription Description { get; }
        public ImageReadOptions Limits { get; }
        public long Pixels => (long)Description.Columns * Description.Rows;
        /// <summary>What the decoder had to assume to decode the frame; they end up in <see cref="SourceInfo.Warnings"/>.</summary>
        public List<string> Warnings { get; } = new List<string>();

        /// <summary>The bound of <see cref="CodecBound(int, ImageReadOptions)"/> for this frame.</summary>
        public long MaxCodecSamples => CodecBound(Bytes.Count, Limits);

        public Exception Fail(string message) => DicomPixels.Invalid(Path, message);
        public Exception Unsupported(string message) => DicomPixels.Unsupported(Path, message);

        /// <summary>
        /// The most samples a frame of <paramref name="bytes"/> compressed bytes may declare: JPEG-LS and JPEG 2000 can
        /// compress flat images enormously, so at least 4 M samples and 4096 per byte beyond that, never more than the limits allow.
        /// </summary>
        public static long CodecBound(int bytes, ImageReadOptions limits) => Math.Min(Math.Max(1L << 22, 4096L * bytes), limits.MaxPixels * 4);
    }

    /// <summary>
    /// A decoder of compressed frames for the transfer syntaxes it names. It returns stored values, samples
    /// interleaved, and says whether they are already the low BitsStored bits (a codec's output) or still sit where
    /// HighBit puts them (byte planes of the native layout).
    /// </summary>
    internal abstract class FrameDecoder
    {
        protected FrameDecoder(params TransferSyntax[] syntaxes) => Syntaxes = syntaxes;

        public IReadOnlyList<TransferSyntax> Syntaxes { get; }

        /// <summary>Why it cannot decode on this machine (the library and how to install it), or null when it can.</summary>
        public virtual string? Unavailable => null;

        public abstract int[] Decode(FrameInput input, out bool lowBitsAligned);
    }

    /// <summary>A decoder whose codec returns a whole frame, checked here against Rows, Columns and SamplesPerPixel.</summary>
    internal abstract class CodecFrameDecoder : FrameDecoder
    {
        protected CodecFrameDecoder(params TransferSyntax[] syntaxes) : base(syntaxes) { }

        protected abstract DecodedFrame DecodeFrame(FrameInput input);

        public override int[] Decode(FrameInput input, out bool lowBitsAligned)
        {
            var f = DecodeFrame(input);
            var d = input.Description;
            if (f.Width != d.Columns || f.Height != d.Rows)
                throw input.Fail($"its compressed frame is {f.Width}x{f.Height} but Rows/Columns say {d.Columns}x{d.Rows}.");
            if (f.Components != d.SamplesPerPixel)
                throw input.Fail($"its compressed frame has {f.Components} components but SamplesPerPixel is {d.SamplesPerPixel}.");
            lowBitsAligned = true;
            return f.Samples;
        }
    }

    /// <summary>
    /// A decoded frame: samples interleaved by component, at full resolution. The codecs' result type belongs to the
    /// decoder contract here, so the codecs (Cxas.Dicom.Codecs) use this namespace and not the other way round.
    /// </summary>
    internal sealed record DecodedFrame(int Width, int Height, int Components, int Precision, int[] Samples);

    /// <summary>A codec's entry point: one frame's bytes to samples, within a bound on the samples its header may declare.</summary>
    internal delegate DecodedFrame FrameCodec(byte[] data, int offset, int length, long maxSamples, Func<string, Exception> fail, Func<string, Exception> unsupported);

    /// <summary>A codec over a native library that may be absent (CharLS, OpenJPEG), bounded by <see cref="FrameInput.MaxCodecSamples"/>.</summary>
    internal sealed class NativeFrameDecoder : CodecFrameDecoder
    {
        private readonly FrameCodec _codec;
        private readonly Func<bool> _available;
        private readonly string _installHint;

        public NativeFrameDecoder(FrameCodec codec, Func<bool> available, string installHint, params TransferSyntax[] syntaxes) : base(syntaxes)
        {
            _codec = codec;
            _available = available;
            _installHint = installHint;
        }

        public override string? Unavailable => _available() ? null : _installHint;

        protected override DecodedFrame DecodeFrame(FrameInput input) =>
            _codec(input.Bytes.Array!, input.Bytes.Offset, input.Bytes.Count, input.MaxCodecSamples, input.Fail, input.Unsupported);
    }

    /// <summary>
    /// The frame decoders by transfer syntax UID, as fo-dicom's codec manager keeps them, but one set per configuration
    /// rather than one per process: each decoder registers the syntaxes it names; a frame goes to the decoder of its
    /// file's syntax. A syntax without one is NotSupported, named by UID and name; a decoder whose native library is
    /// absent is NotSupported with the library to install. <see cref="Default"/> holds the built-in codecs (the
    /// composition root fills it) and is read-only; a program that adds a decoder registers it on its own
    /// <see cref="Clone"/>, which a <see cref="DicomImageReader"/> of its own then uses.
    /// </summary>
    internal sealed class FrameDecoders
    {
        private readonly Dictionary<string, FrameDecoder> _byUid = new Dictionary<string, FrameDecoder>(StringComparer.Ordinal);
        private readonly object _gate = new object();

        /// <summary>The built-in decoders: filled once by <c>Cxas.Composition</c> when the assembly loads, then read-only.</summary>
        public static FrameDecoders Default { get; } = new FrameDecoders();

        /// <summary>Whether <see cref="Register"/> is refused (so for <see cref="Default"/>).</summary>
        public bool IsReadOnly { get; private set; }

        /// <summary>Refuses any later registration.</summary>
        internal FrameDecoders MakeReadOnly()
        {
            IsReadOnly = true;
            return this;
        }

        /// <summary>A writable copy holding the same decoders.</summary>
        public FrameDecoders Clone()
        {
            var copy = new FrameDecoders();
            lock (_gate)
                foreach (var pair in _byUid) copy._byUid[pair.Key] = pair.Value;
            return copy;
        }

        /// <summary>Names of encapsulated syntaxes no decoder here handles, so that refusing one says what it is.</summary>
        private static readonly Dictionary<string, string> OtherNames = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["1.2.840.10008.1.2.4.52"] = "JPEG Extended, processes 3 and 5 (retired)",
            ["1.2.840.10008.1.2.4.53"] = "JPEG Spectral Selection (retired)",
            ["1.2.840.10008.1.2.4.55"] = "JPEG Full Progression (retired)",
            ["1.2.840.10008.1.2.4.58"] = "JPEG Lossless, process 15 (retired)",
            ["1.2.840.10008.1.2.4.92"] = "JPEG 2000 Part 2 Multi-component Lossless",
            ["1.2.840.10008.1.2.4.93"] = "JPEG 2000 Part 2 Multi-component",
            ["1.2.840.10008.1.2.4.94"] = "JPIP Referenced",
            ["1.2.840.10008.1.2.4.100"] = "MPEG2 Main Profile / Main Level",
            ["1.2.840.10008.1.2.4.102"] = "MPEG-4 AVC/H.264 High Profile",
            ["1.2.840.10008.1.2.4.110"] = "JPEG XL Lossless",
            ["1.2.840.10008.1.2.4.112"] = "JPEG XL",
            ["1.2.840.10008.1.2.4.201"] = "High-Throughput JPEG 2000 Lossless",
            ["1.2.840.10008.1.2.4.202"] = "High-Throughput JPEG 2000 with RPCL Lossless",
            ["1.2.840.10008.1.2.4.203"] = "High-Throughput JPEG 2000",
        };

        /// <summary>Makes <paramref name="decoder"/> the decoder of every syntax it names.</summary>
        public void Register(FrameDecoder decoder)
        {
            if (IsReadOnly)
                throw new InvalidOperationException("The default frame decoders are read-only: register on a clone of the configuration.");
            lock (_gate)
                foreach (var syntax in decoder.Syntaxes) _byUid[syntax.Uid] = decoder;
        }

        /// <summary>The syntaxes some decoder handles, in UID order.</summary>
        public IReadOnlyList<TransferSyntax> Supported
        {
            get
            {
                var list = new List<TransferSyntax>();
                lock (_gate)
                    foreach (var decoder in _byUid.Values)
                        foreach (var syntax in decoder.Syntaxes)
                            if (!list.Exists(s => s.Uid == syntax.Uid)) list.Add(syntax);
                list.Sort((a, b) => string.CompareOrdinal(a.Uid, b.Uid));
                return list;
            }
        }

        /// <summary>The decoder for <paramref name="uid"/>, ready to use; else NotSupported naming the syntax and, for a native codec, the library.</summary>
        public FrameDecoder For(string uid, string path)
        {
            FrameDecoder? decoder;
            lock (_gate) _byUid.TryGetValue(uid, out decoder);
            if (decoder == null)
                throw DicomPixels.Unsupported(path, $"transfer syntax {uid} ({NameOf(uid)}) is not supported.");
            var missing = decoder.Unavailable;
            if (missing != null)
                throw DicomPixels.Unsupported(path, $"transfer syntax {Find(decoder, uid)} cannot be decoded here: {missing}");
            return decoder;
        }

        private static TransferSyntax Find(FrameDecoder decoder, string uid)
        {
            foreach (var s in decoder.Syntaxes) if (s.Uid == uid) return s;
            return new TransferSyntax(uid, NameOf(uid));
        }

        private static string NameOf(string uid) => OtherNames.TryGetValue(uid, out var name) ? name : "an unknown transfer syntax";
    }
}
