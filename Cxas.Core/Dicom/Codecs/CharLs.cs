using System.Runtime.InteropServices;
using Cxas.Interop;

namespace Cxas.Dicom.Codecs
{
    /// <summary>
    /// JPEG-LS (.80, .81) through the system's CharLS 2.x (Debian: libcharls2, <c>libcharls.so.2</c>; Windows:
    /// <c>charls-2-x64.dll</c>). The library is opened under the first of its names that loads, on first use, and its
    /// functions resolved once (<see cref="NativeLib"/>); when none loads, decoding fails with a NotSupported error that
    /// names the library and how to install it.
    /// </summary>
    internal static class CharLs
    {
        [StructLayout(LayoutKind.Sequential)]
        internal struct FrameInfo
        {
            public uint Width;
            public uint Height;
            public int BitsPerSample;
            public int ComponentCount;
        }

        private const CallingConvention Api = CallingConvention.Winapi; // as CHARLS_API_CALLING_CONVENTION (stdcall on 32-bit Windows)
        [NativeSymbol("charls_jpegls_decoder_create"), UnmanagedFunctionPointer(Api)] private delegate IntPtr Create();
        [NativeSymbol("charls_jpegls_decoder_destroy"), UnmanagedFunctionPointer(Api)] private delegate void Destroy(IntPtr d);
        [NativeSymbol("charls_jpegls_decoder_set_source_buffer"), UnmanagedFunctionPointer(Api)] private delegate int SetSource(IntPtr d, IntPtr src, UIntPtr size);
        [NativeSymbol("charls_jpegls_decoder_read_header"), UnmanagedFunctionPointer(Api)] private delegate int ReadHeader(IntPtr d);
        [NativeSymbol("charls_jpegls_decoder_get_frame_info"), UnmanagedFunctionPointer(Api)] private delegate int GetFrameInfo(IntPtr d, out FrameInfo info);
        [NativeSymbol("charls_jpegls_decoder_get_interleave_mode"), UnmanagedFunctionPointer(Api)] private delegate int GetInterleave(IntPtr d, out int mode);
        [NativeSymbol("charls_jpegls_decoder_get_destination_size"), UnmanagedFunctionPointer(Api)] private delegate int GetDestinationSize(IntPtr d, uint stride, out UIntPtr size);
        [NativeSymbol("charls_jpegls_decoder_decode_to_buffer"), UnmanagedFunctionPointer(Api)] private delegate int DecodeToBuffer(IntPtr d, IntPtr dst, UIntPtr size, uint stride);

        public const string InstallHint =
            "JPEG-LS needs the CharLS 2 library: on Debian/Ubuntu 'apt-get install libcharls2' (libcharls.so.2); " +
            "on Windows put charls-2-x64.dll beside Cxas.Core.dll or on PATH.";

        private static readonly Lazy<NativeFunctions?> Library = new Lazy<NativeFunctions?>(() => NativeLib.Bind(typeof(CharLs), "libcharls.so.2", "charls", "charls-2-x64"));

        public static bool Available => Library.Value != null;

        public static FrameDecoder FrameDecoder { get; } = new NativeFrameDecoder(Decode, () => Available, InstallHint,
            new TransferSyntax(TransferSyntaxes.JpegLsLossless, "JPEG-LS Lossless Image Compression"),
            new TransferSyntax(TransferSyntaxes.JpegLsNear, "JPEG-LS Lossy (Near-Lossless) Image Compression"));

        /// <summary>Decodes one JPEG-LS frame to samples interleaved by component.</summary>
        public static unsafe DecodedFrame Decode(byte[] data, int offset, int length, long maxSamples, Func<string, Exception> fail, Func<string, Exception> unsupported)
        {
            var api = Library.Value ?? throw unsupported(InstallHint);
            IntPtr d = api.Get<Create>()();
            if (d == IntPtr.Zero) throw fail("CharLS could not create a decoder.");
            try
            {
                fixed (byte* src = &data[offset])
                {
                    Check(api.Get<SetSource>()(d, (IntPtr)src, (UIntPtr)(uint)length), fail);
                    Check(api.Get<ReadHeader>()(d), fail);
                    Check(api.Get<GetFrameInfo>()(d, out var info), fail);
                    Check(api.Get<GetInterleave>()(d, out int interleave), fail);
                    if (info.Width == 0 || info.Height == 0 || info.ComponentCount < 1 || info.ComponentCount > 4 || info.BitsPerSample < 2 || info.BitsPerSample > 16)
                        throw fail("the JPEG-LS header declares an invalid frame.");
                    long samples = (long)info.Width * info.Height * info.ComponentCount;
                    if (samples > maxSamples) throw fail($"the JPEG-LS frame declares {info.Width}x{info.Height}x{info.ComponentCount} samples, more than its pixel data could hold.");
                    Check(api.Get<GetDestinationSize>()(d, 0, out var size), fail);
                    int bytesPer = info.BitsPerSample > 8 ? 2 : 1;
                    if ((ulong)size != (ulong)(samples * bytesPer)) throw fail("CharLS reports an unexpected output size.");
                    var buffer = new byte[samples * bytesPer];
                    fixed (byte* dst = buffer)
                        Check(api.Get<DecodeToBuffer>()(d, (IntPtr)dst, size, 0), fail);
                    var result = new int[samples];
                    int n = info.ComponentCount;
                    long plane = (long)info.Width * info.Height;
                    for (long i = 0; i < samples; i++)
                    {
                        int v = bytesPer == 2 ? buffer[2 * i] | (buffer[2 * i + 1] << 8) : buffer[i];
                        // interleave mode 0 (none) gives planes; line and sample interleaving give pixel order for a stride of 0
                        long target = interleave == 0 && n > 1 ? (i % plane) * n + i / plane : i;
                        result[target] = v;
                    }
                    return new DecodedFrame((int)info.Width, (int)info.Height, n, info.BitsPerSample, result);
                }
            }
            finally
            {
                api.Get<Destroy>()(d);
            }
        }

        private static void Check(int error, Func<string, Exception> fail)
        {
            if (error != 0) throw fail($"CharLS reports error {error} decoding the JPEG-LS stream.");
        }
    }
}
