using System;
using System.Runtime.InteropServices;

namespace Cxas.Dicom.Codecs
{
    /// <summary>
    /// JPEG 2000 (.90, .91) through the system's OpenJPEG 2 (Debian: libopenjp2-7, <c>libopenjp2.so.7</c>; Windows:
    /// <c>openjp2.dll</c>). Data is handed to OpenJPEG from memory through its stream callbacks. When no library loads,
    /// decoding fails with a NotSupported error naming the library and how to install it.
    /// </summary>
    internal static unsafe class OpenJpeg
    {
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate UIntPtr ReadFn(IntPtr buffer, UIntPtr count, IntPtr user);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate long SkipFn(long count, IntPtr user);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int SeekFn(long position, IntPtr user);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate void MessageFn(IntPtr message, IntPtr user);

        private interface IApi
        {
            IntPtr CreateDecompress(int format);
            void SetDefaultParameters(IntPtr parameters);
            int SetupDecoder(IntPtr codec, IntPtr parameters);
            IntPtr StreamCreate(UIntPtr bufferSize, int input);
            void StreamSetRead(IntPtr s, ReadFn f);
            void StreamSetSkip(IntPtr s, SkipFn f);
            void StreamSetSeek(IntPtr s, SeekFn f);
            void StreamSetUserData(IntPtr s, IntPtr data, IntPtr free);
            void StreamSetUserDataLength(IntPtr s, ulong length);
            int ReadHeader(IntPtr s, IntPtr codec, out IntPtr image);
            int DecodeImage(IntPtr codec, IntPtr s, IntPtr image);
            int EndDecompress(IntPtr codec, IntPtr s);
            void ImageDestroy(IntPtr image);
            void StreamDestroy(IntPtr s);
            void DestroyCodec(IntPtr codec);
            int SetErrorHandler(IntPtr codec, MessageFn f, IntPtr user);
        }

        private sealed class LinuxApi : IApi
        {
            private const string L = "libopenjp2.so.7";
            [DllImport(L)] private static extern IntPtr opj_create_decompress(int format);
            [DllImport(L)] private static extern void opj_set_default_decoder_parameters(IntPtr p);
            [DllImport(L)] private static extern int opj_setup_decoder(IntPtr c, IntPtr p);
            [DllImport(L)] private static extern IntPtr opj_stream_create(UIntPtr size, int input);
            [DllImport(L)] private static extern void opj_stream_set_read_function(IntPtr s, ReadFn f);
            [DllImport(L)] private static extern void opj_stream_set_skip_function(IntPtr s, SkipFn f);
            [DllImport(L)] private static extern void opj_stream_set_seek_function(IntPtr s, SeekFn f);
            [DllImport(L)] private static extern void opj_stream_set_user_data(IntPtr s, IntPtr d, IntPtr free);
            [DllImport(L)] private static extern void opj_stream_set_user_data_length(IntPtr s, ulong n);
            [DllImport(L)] private static extern int opj_read_header(IntPtr s, IntPtr c, out IntPtr image);
            [DllImport(L)] private static extern int opj_decode(IntPtr c, IntPtr s, IntPtr image);
            [DllImport(L)] private static extern int opj_end_decompress(IntPtr c, IntPtr s);
            [DllImport(L)] private static extern void opj_image_destroy(IntPtr image);
            [DllImport(L)] private static extern void opj_stream_destroy(IntPtr s);
            [DllImport(L)] private static extern void opj_destroy_codec(IntPtr c);
            [DllImport(L)] private static extern int opj_set_error_handler(IntPtr c, MessageFn f, IntPtr user);
            public IntPtr CreateDecompress(int format) => opj_create_decompress(format);
            public void SetDefaultParameters(IntPtr p) => opj_set_default_decoder_parameters(p);
            public int SetupDecoder(IntPtr c, IntPtr p) => opj_setup_decoder(c, p);
            public IntPtr StreamCreate(UIntPtr size, int input) => opj_stream_create(size, input);
            public void StreamSetRead(IntPtr s, ReadFn f) => opj_stream_set_read_function(s, f);
            public void StreamSetSkip(IntPtr s, SkipFn f) => opj_stream_set_skip_function(s, f);
            public void StreamSetSeek(IntPtr s, SeekFn f) => opj_stream_set_seek_function(s, f);
            public void StreamSetUserData(IntPtr s, IntPtr d, IntPtr free) => opj_stream_set_user_data(s, d, free);
            public void StreamSetUserDataLength(IntPtr s, ulong n) => opj_stream_set_user_data_length(s, n);
            public int ReadHeader(IntPtr s, IntPtr c, out IntPtr image) => opj_read_header(s, c, out image);
            public int DecodeImage(IntPtr c, IntPtr s, IntPtr image) => opj_decode(c, s, image);
            public int EndDecompress(IntPtr c, IntPtr s) => opj_end_decompress(c, s);
            public void ImageDestroy(IntPtr image) => opj_image_destroy(image);
            public void StreamDestroy(IntPtr s) => opj_stream_destroy(s);
            public void DestroyCodec(IntPtr c) => opj_destroy_codec(c);
            public int SetErrorHandler(IntPtr c, MessageFn f, IntPtr user) => opj_set_error_handler(c, f, user);
        }

        private sealed class GenericApi : IApi
        {
            private const string L = "openjp2";
            [DllImport(L)] private static extern IntPtr opj_create_decompress(int format);
            [DllImport(L)] private static extern void opj_set_default_decoder_parameters(IntPtr p);
            [DllImport(L)] private static extern int opj_setup_decoder(IntPtr c, IntPtr p);
            [DllImport(L)] private static extern IntPtr opj_stream_create(UIntPtr size, int input);
            [DllImport(L)] private static extern void opj_stream_set_read_function(IntPtr s, ReadFn f);
            [DllImport(L)] private static extern void opj_stream_set_skip_function(IntPtr s, SkipFn f);
            [DllImport(L)] private static extern void opj_stream_set_seek_function(IntPtr s, SeekFn f);
            [DllImport(L)] private static extern void opj_stream_set_user_data(IntPtr s, IntPtr d, IntPtr free);
            [DllImport(L)] private static extern void opj_stream_set_user_data_length(IntPtr s, ulong n);
            [DllImport(L)] private static extern int opj_read_header(IntPtr s, IntPtr c, out IntPtr image);
            [DllImport(L)] private static extern int opj_decode(IntPtr c, IntPtr s, IntPtr image);
            [DllImport(L)] private static extern int opj_end_decompress(IntPtr c, IntPtr s);
            [DllImport(L)] private static extern void opj_image_destroy(IntPtr image);
            [DllImport(L)] private static extern void opj_stream_destroy(IntPtr s);
            [DllImport(L)] private static extern void opj_destroy_codec(IntPtr c);
            [DllImport(L)] private static extern int opj_set_error_handler(IntPtr c, MessageFn f, IntPtr user);
            public IntPtr CreateDecompress(int format) => opj_create_decompress(format);
            public void SetDefaultParameters(IntPtr p) => opj_set_default_decoder_parameters(p);
            public int SetupDecoder(IntPtr c, IntPtr p) => opj_setup_decoder(c, p);
            public IntPtr StreamCreate(UIntPtr size, int input) => opj_stream_create(size, input);
            public void StreamSetRead(IntPtr s, ReadFn f) => opj_stream_set_read_function(s, f);
            public void StreamSetSkip(IntPtr s, SkipFn f) => opj_stream_set_skip_function(s, f);
            public void StreamSetSeek(IntPtr s, SeekFn f) => opj_stream_set_seek_function(s, f);
            public void StreamSetUserData(IntPtr s, IntPtr d, IntPtr free) => opj_stream_set_user_data(s, d, free);
            public void StreamSetUserDataLength(IntPtr s, ulong n) => opj_stream_set_user_data_length(s, n);
            public int ReadHeader(IntPtr s, IntPtr c, out IntPtr image) => opj_read_header(s, c, out image);
            public int DecodeImage(IntPtr c, IntPtr s, IntPtr image) => opj_decode(c, s, image);
            public int EndDecompress(IntPtr c, IntPtr s) => opj_end_decompress(c, s);
            public void ImageDestroy(IntPtr image) => opj_image_destroy(image);
            public void StreamDestroy(IntPtr s) => opj_stream_destroy(s);
            public void DestroyCodec(IntPtr c) => opj_destroy_codec(c);
            public int SetErrorHandler(IntPtr c, MessageFn f, IntPtr user) => opj_set_error_handler(c, f, user);
        }

        public const string InstallHint =
            "JPEG 2000 needs the OpenJPEG 2 library: on Debian/Ubuntu 'apt-get install libopenjp2-7' (libopenjp2.so.7); " +
            "on Windows put openjp2.dll beside Cxas.Core.dll or on PATH.";

        private static readonly object Gate = new object();
        private static IApi? _api;
        private static bool _probed;

        // Callbacks live for the whole process so native code never calls a collected delegate.
        private static readonly ReadFn Read = OnRead;
        private static readonly SkipFn Skip = OnSkip;
        private static readonly SeekFn Seek = OnSeek;
        private static readonly MessageFn Error = OnError;

        /// <summary>State of one in-memory stream, addressed by a pinned pointer handed to OpenJPEG as user data.</summary>
        private struct Source
        {
            public byte* Data;
            public long Length;
            public long Position;
        }

        private static IApi? Api
        {
            get
            {
                lock (Gate)
                {
                    if (_probed) return _api;
                    _probed = true;
                    foreach (var candidate in new IApi[] { new LinuxApi(), new GenericApi() })
                    {
                        try
                        {
                            var c = candidate.CreateDecompress(0);
                            if (c != IntPtr.Zero) candidate.DestroyCodec(c);
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

        private static UIntPtr OnRead(IntPtr buffer, UIntPtr count, IntPtr user)
        {
            var s = (Source*)user;
            long left = s->Length - s->Position;
            if (left <= 0) return new UIntPtr(ulong.MaxValue); // (OPJ_SIZE_T)-1: end of stream
            long n = Math.Min(left, (long)(ulong)count);
            Buffer.MemoryCopy(s->Data + s->Position, (void*)buffer, n, n);
            s->Position += n;
            return new UIntPtr((ulong)n);
        }

        private static long OnSkip(long count, IntPtr user)
        {
            var s = (Source*)user;
            long target = s->Position + count;
            if (target < 0 || target > s->Length) return -1;
            s->Position = target;
            return count;
        }

        private static int OnSeek(long position, IntPtr user)
        {
            var s = (Source*)user;
            if (position < 0 || position > s->Length) return 0;
            s->Position = position;
            return 1;
        }

        private static void OnError(IntPtr message, IntPtr user) { }

        // Offsets in opj_image_t / opj_image_comp_t (OpenJPEG 2.x, 64-bit).
        private const int ImageNumComps = 16, ImageComps = 24;
        private const int CompW = 8, CompH = 12, CompPrec = 24, CompSgnd = 32, CompData = 48, CompSize = 64;

        public static DecodedFrame Decode(byte[] data, int offset, int length, long maxSamples, Func<string, Exception> fail, Func<string, Exception> unsupported)
        {
            var api = Api ?? throw unsupported(InstallHint);
            if (IntPtr.Size != 8) throw unsupported("JPEG 2000 decoding needs a 64-bit process.");
            // JP2 file format (a box structure) or a raw codestream?
            bool jp2 = length >= 12 && data[offset + 4] == 0x6A && data[offset + 5] == 0x50 && data[offset + 6] == 0x20 && data[offset + 7] == 0x20;
            if (!jp2 && (length < 4 || data[offset] != 0xFF || data[offset + 1] != 0x4F)) throw fail("the JPEG 2000 stream has no start-of-codestream marker.");
            IntPtr codec = api.CreateDecompress(jp2 ? 2 : 0);
            if (codec == IntPtr.Zero) throw fail("OpenJPEG could not create a decoder.");
            IntPtr parameters = Marshal.AllocHGlobal(1 << 14); // larger than opj_dparameters_t in any 2.x release
            IntPtr stream = IntPtr.Zero, image = IntPtr.Zero;
            var source = (Source*)Marshal.AllocHGlobal(sizeof(Source));
            var pin = GCHandle.Alloc(data, GCHandleType.Pinned);
            try
            {
                new Span<byte>((void*)parameters, 1 << 14).Clear();
                api.SetErrorHandler(codec, Error, IntPtr.Zero);
                api.SetDefaultParameters(parameters);
                if (api.SetupDecoder(codec, parameters) == 0) throw fail("OpenJPEG rejected the decoder set-up.");
                source->Data = (byte*)pin.AddrOfPinnedObject() + offset;
                source->Length = length;
                source->Position = 0;
                stream = api.StreamCreate((UIntPtr)(1u << 16), 1);
                if (stream == IntPtr.Zero) throw fail("OpenJPEG could not create a stream.");
                api.StreamSetRead(stream, Read);
                api.StreamSetSkip(stream, Skip);
                api.StreamSetSeek(stream, Seek);
                api.StreamSetUserData(stream, (IntPtr)source, IntPtr.Zero);
                api.StreamSetUserDataLength(stream, (ulong)length);
                if (api.ReadHeader(stream, codec, out image) == 0 || image == IntPtr.Zero) throw fail("the JPEG 2000 header cannot be read.");
                int n = *(int*)((byte*)image + ImageNumComps);
                byte* comps = *(byte**)((byte*)image + ImageComps);
                if (n < 1 || n > 4 || comps == null) throw fail("the JPEG 2000 image has an invalid number of components.");
                uint w = *(uint*)(comps + CompW), h = *(uint*)(comps + CompH);
                if (w == 0 || h == 0 || (long)w * h * n > maxSamples)
                    throw fail($"the JPEG 2000 frame declares {w}x{h}x{n} samples, more than its pixel data could hold.");
                if (api.DecodeImage(codec, stream, image) == 0 || api.EndDecompress(codec, stream) == 0)
                    throw fail("the JPEG 2000 data cannot be decoded (corrupt or truncated).");
                comps = *(byte**)((byte*)image + ImageComps);
                var result = new int[(long)w * h * n];
                int precision = 0;
                for (int c = 0; c < n; c++)
                {
                    byte* comp = comps + c * CompSize;
                    uint cw = *(uint*)(comp + CompW), ch = *(uint*)(comp + CompH);
                    int* values = *(int**)(comp + CompData);
                    precision = Math.Max(precision, *(int*)(comp + CompPrec));
                    if (values == null) throw fail("the JPEG 2000 decoder returned no samples.");
                    if (cw != w || ch != h) throw unsupported("JPEG 2000 images with subsampled components are not supported.");
                    bool signed = *(int*)(comp + CompSgnd) != 0;
                    for (long i = 0; i < (long)w * h; i++)
                    {
                        int v = values[i];
                        result[i * n + c] = signed ? v : v;
                    }
                }
                return new DecodedFrame((int)w, (int)h, n, precision, result);
            }
            finally
            {
                if (image != IntPtr.Zero) api.ImageDestroy(image);
                if (stream != IntPtr.Zero) api.StreamDestroy(stream);
                api.DestroyCodec(codec);
                pin.Free();
                Marshal.FreeHGlobal((IntPtr)source);
                Marshal.FreeHGlobal(parameters);
            }
        }
    }
}
