using System;
using System.Runtime.InteropServices;

namespace Cxas.Dicom.Codecs
{
    /// <summary>
    /// JPEG-LS (.80, .81) through the system's CharLS 2.x (Debian: libcharls2, <c>libcharls.so.2</c>; Windows:
    /// <c>charls-2-x64.dll</c>). The library is looked up under several names on first use; when none loads, decoding
    /// fails with a NotSupported error that names the library and how to install it.
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

        private interface IApi
        {
            IntPtr Create();
            void Destroy(IntPtr d);
            int SetSource(IntPtr d, IntPtr src, UIntPtr size);
            int ReadHeader(IntPtr d);
            int GetFrameInfo(IntPtr d, out FrameInfo info);
            int GetInterleave(IntPtr d, out int mode);
            int GetDestinationSize(IntPtr d, uint stride, out UIntPtr size);
            int DecodeToBuffer(IntPtr d, IntPtr dst, UIntPtr size, uint stride);
        }

        private sealed class LinuxApi : IApi
        {
            private const string Lib = "libcharls.so.2";
            [DllImport(Lib)] private static extern IntPtr charls_jpegls_decoder_create();
            [DllImport(Lib)] private static extern void charls_jpegls_decoder_destroy(IntPtr d);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_set_source_buffer(IntPtr d, IntPtr src, UIntPtr size);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_read_header(IntPtr d);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_get_frame_info(IntPtr d, out FrameInfo info);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_get_interleave_mode(IntPtr d, out int mode);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_get_destination_size(IntPtr d, uint stride, out UIntPtr size);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_decode_to_buffer(IntPtr d, IntPtr dst, UIntPtr size, uint stride);
            public IntPtr Create() => charls_jpegls_decoder_create();
            public void Destroy(IntPtr d) => charls_jpegls_decoder_destroy(d);
            public int SetSource(IntPtr d, IntPtr src, UIntPtr size) => charls_jpegls_decoder_set_source_buffer(d, src, size);
            public int ReadHeader(IntPtr d) => charls_jpegls_decoder_read_header(d);
            public int GetFrameInfo(IntPtr d, out FrameInfo info) => charls_jpegls_decoder_get_frame_info(d, out info);
            public int GetInterleave(IntPtr d, out int mode) => charls_jpegls_decoder_get_interleave_mode(d, out mode);
            public int GetDestinationSize(IntPtr d, uint stride, out UIntPtr size) => charls_jpegls_decoder_get_destination_size(d, stride, out size);
            public int DecodeToBuffer(IntPtr d, IntPtr dst, UIntPtr size, uint stride) => charls_jpegls_decoder_decode_to_buffer(d, dst, size, stride);
        }

        private sealed class GenericApi : IApi
        {
            private const string Lib = "charls";
            [DllImport(Lib)] private static extern IntPtr charls_jpegls_decoder_create();
            [DllImport(Lib)] private static extern void charls_jpegls_decoder_destroy(IntPtr d);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_set_source_buffer(IntPtr d, IntPtr src, UIntPtr size);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_read_header(IntPtr d);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_get_frame_info(IntPtr d, out FrameInfo info);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_get_interleave_mode(IntPtr d, out int mode);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_get_destination_size(IntPtr d, uint stride, out UIntPtr size);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_decode_to_buffer(IntPtr d, IntPtr dst, UIntPtr size, uint stride);
            public IntPtr Create() => charls_jpegls_decoder_create();
            public void Destroy(IntPtr d) => charls_jpegls_decoder_destroy(d);
            public int SetSource(IntPtr d, IntPtr src, UIntPtr size) => charls_jpegls_decoder_set_source_buffer(d, src, size);
            public int ReadHeader(IntPtr d) => charls_jpegls_decoder_read_header(d);
            public int GetFrameInfo(IntPtr d, out FrameInfo info) => charls_jpegls_decoder_get_frame_info(d, out info);
            public int GetInterleave(IntPtr d, out int mode) => charls_jpegls_decoder_get_interleave_mode(d, out mode);
            public int GetDestinationSize(IntPtr d, uint stride, out UIntPtr size) => charls_jpegls_decoder_get_destination_size(d, stride, out size);
            public int DecodeToBuffer(IntPtr d, IntPtr dst, UIntPtr size, uint stride) => charls_jpegls_decoder_decode_to_buffer(d, dst, size, stride);
        }

        private sealed class WindowsApi : IApi
        {
            private const string Lib = "charls-2-x64";
            [DllImport(Lib)] private static extern IntPtr charls_jpegls_decoder_create();
            [DllImport(Lib)] private static extern void charls_jpegls_decoder_destroy(IntPtr d);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_set_source_buffer(IntPtr d, IntPtr src, UIntPtr size);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_read_header(IntPtr d);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_get_frame_info(IntPtr d, out FrameInfo info);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_get_interleave_mode(IntPtr d, out int mode);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_get_destination_size(IntPtr d, uint stride, out UIntPtr size);
            [DllImport(Lib)] private static extern int charls_jpegls_decoder_decode_to_buffer(IntPtr d, IntPtr dst, UIntPtr size, uint stride);
            public IntPtr Create() => charls_jpegls_decoder_create();
            public void Destroy(IntPtr d) => charls_jpegls_decoder_destroy(d);
            public int SetSource(IntPtr d, IntPtr src, UIntPtr size) => charls_jpegls_decoder_set_source_buffer(d, src, size);
            public int ReadHeader(IntPtr d) => charls_jpegls_decoder_read_header(d);
            public int GetFrameInfo(IntPtr d, out FrameInfo info) => charls_jpegls_decoder_get_frame_info(d, out info);
            public int GetInterleave(IntPtr d, out int mode) => charls_jpegls_decoder_get_interleave_mode(d, out mode);
            public int GetDestinationSize(IntPtr d, uint stride, out UIntPtr size) => charls_jpegls_decoder_get_destination_size(d, stride, out size);
            public int DecodeToBuffer(IntPtr d, IntPtr dst, UIntPtr size, uint stride) => charls_jpegls_decoder_decode_to_buffer(d, dst, size, stride);
        }

        private static readonly object Gate = new object();
        private static IApi? _api;
        private static bool _probed;

        public const string InstallHint =
            "JPEG-LS needs the CharLS 2 library: on Debian/Ubuntu 'apt-get install libcharls2' (libcharls.so.2); " +
            "on Windows put charls-2-x64.dll beside Cxas.Core.dll or on PATH.";

        private static IApi? Api
        {
            get
            {
                lock (Gate)
                {
                    if (_probed) return _api;
                    _probed = true;
                    foreach (var candidate in new IApi[] { new LinuxApi(), new GenericApi(), new WindowsApi() })
                    {
                        try
                        {
                            var d = candidate.Create();
                            if (d != IntPtr.Zero) candidate.Destroy(d);
                            _api = candidate;
                            break;
                        }
                        catch (DllNotFoundException) { }
                        catch (EntryPointNotFoundException) { }
                        catch (BadImageFormatException) { }
                    }
                    return _api;
                }
            }
        }

        public static bool Available => Api != null;

        /// <summary>Decodes one JPEG-LS frame to samples interleaved by component.</summary>
        public static unsafe DecodedFrame Decode(byte[] data, int offset, int length, long maxSamples, Func<string, Exception> fail, Func<string, Exception> unsupported)
        {
            var api = Api ?? throw unsupported(InstallHint);
            IntPtr d = api.Create();
            if (d == IntPtr.Zero) throw fail("CharLS could not create a decoder.");
            try
            {
                fixed (byte* src = &data[offset])
                {
                    Check(api.SetSource(d, (IntPtr)src, (UIntPtr)(uint)length), fail);
                    Check(api.ReadHeader(d), fail);
                    Check(api.GetFrameInfo(d, out var info), fail);
                    Check(api.GetInterleave(d, out int interleave), fail);
                    if (info.Width == 0 || info.Height == 0 || info.ComponentCount < 1 || info.ComponentCount > 4 || info.BitsPerSample < 2 || info.BitsPerSample > 16)
                        throw fail("the JPEG-LS header declares an invalid frame.");
                    long samples = (long)info.Width * info.Height * info.ComponentCount;
                    if (samples > maxSamples) throw fail($"the JPEG-LS frame declares {info.Width}x{info.Height}x{info.ComponentCount} samples, more than its pixel data could hold.");
                    Check(api.GetDestinationSize(d, 0, out var size), fail);
                    int bytesPer = info.BitsPerSample > 8 ? 2 : 1;
                    if ((ulong)size != (ulong)(samples * bytesPer)) throw fail("CharLS reports an unexpected output size.");
                    var buffer = new byte[samples * bytesPer];
                    fixed (byte* dst = buffer)
                        Check(api.DecodeToBuffer(d, (IntPtr)dst, size, 0), fail);
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
                api.Destroy(d);
            }
        }

        private static void Check(int error, Func<string, Exception> fail)
        {
            if (error != 0) throw fail($"CharLS reports error {error} decoding the JPEG-LS stream.");
        }
    }
}
