using System.Runtime.InteropServices;
using Cxas.Interop;

namespace Cxas.Dicom.Codecs
{
    /// <summary>
    /// JPEG 2000 (.90, .91) through the system's OpenJPEG 2 (Debian: libopenjp2-7, <c>libopenjp2.so.7</c>; Windows:
    /// <c>openjp2.dll</c>). Data is handed to OpenJPEG from memory through its stream callbacks. When no library loads,
    /// decoding fails with a NotSupported error naming the library and how to install it. The library is opened and its
    /// functions resolved once, on first use (<see cref="NativeLib"/>).
    /// </summary>
    internal static unsafe class OpenJpeg
    {
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate UIntPtr ReadFn(IntPtr buffer, UIntPtr count, IntPtr user);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate long SkipFn(long count, IntPtr user);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int SeekFn(long position, IntPtr user);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate void MessageFn(IntPtr message, IntPtr user);

        private const CallingConvention Api = CallingConvention.Winapi; // as OPJ_CALLCONV (stdcall on Windows)
        [NativeSymbol("opj_create_decompress"), UnmanagedFunctionPointer(Api)] private delegate IntPtr CreateDecompress(int format);
        [NativeSymbol("opj_set_default_decoder_parameters"), UnmanagedFunctionPointer(Api)] private delegate void SetDefaultParameters(IntPtr parameters);
        [NativeSymbol("opj_setup_decoder"), UnmanagedFunctionPointer(Api)] private delegate int SetupDecoder(IntPtr codec, IntPtr parameters);
        [NativeSymbol("opj_stream_create"), UnmanagedFunctionPointer(Api)] private delegate IntPtr StreamCreate(UIntPtr bufferSize, int input);
        [NativeSymbol("opj_stream_set_read_function"), UnmanagedFunctionPointer(Api)] private delegate void StreamSetRead(IntPtr s, ReadFn f);
        [NativeSymbol("opj_stream_set_skip_function"), UnmanagedFunctionPointer(Api)] private delegate void StreamSetSkip(IntPtr s, SkipFn f);
        [NativeSymbol("opj_stream_set_seek_function"), UnmanagedFunctionPointer(Api)] private delegate void StreamSetSeek(IntPtr s, SeekFn f);
        [NativeSymbol("opj_stream_set_user_data"), UnmanagedFunctionPointer(Api)] private delegate void StreamSetUserData(IntPtr s, IntPtr data, IntPtr free);
        [NativeSymbol("opj_stream_set_user_data_length"), UnmanagedFunctionPointer(Api)] private delegate void StreamSetUserDataLength(IntPtr s, ulong length);
        [NativeSymbol("opj_read_header"), UnmanagedFunctionPointer(Api)] private delegate int ReadHeader(IntPtr s, IntPtr codec, out IntPtr image);
        [NativeSymbol("opj_decode"), UnmanagedFunctionPointer(Api)] private delegate int DecodeImage(IntPtr codec, IntPtr s, IntPtr image);
        [NativeSymbol("opj_end_decompress"), UnmanagedFunctionPointer(Api)] private delegate int EndDecompress(IntPtr codec, IntPtr s);
        [NativeSymbol("opj_image_destroy"), UnmanagedFunctionPointer(Api)] private delegate void ImageDestroy(IntPtr image);
        [NativeSymbol("opj_stream_destroy"), UnmanagedFunctionPointer(Api)] private delegate void StreamDestroy(IntPtr s);
        [NativeSymbol("opj_destroy_codec"), UnmanagedFunctionPointer(Api)] private delegate void DestroyCodec(IntPtr codec);
        [NativeSymbol("opj_set_error_handler"), UnmanagedFunctionPointer(Api)] private delegate int SetErrorHandler(IntPtr codec, MessageFn f, IntPtr user);

        public const string InstallHint =
            "JPEG 2000 needs the OpenJPEG 2 library: on Debian/Ubuntu 'apt-get install libopenjp2-7' (libopenjp2.so.7); " +
            "on Windows put openjp2.dll beside Cxas.Core.dll or on PATH.";

        private static readonly Lazy<NativeFunctions?> Library = new Lazy<NativeFunctions?>(() => NativeLib.Bind(typeof(OpenJpeg), "libopenjp2.so.7", "openjp2"));

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

        public static bool Available => Library.Value != null;

        public static FrameDecoder FrameDecoder { get; } = new Jpeg2000Frames();

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
            var api = Library.Value ?? throw unsupported(InstallHint);
            if (IntPtr.Size != 8) throw unsupported("JPEG 2000 decoding needs a 64-bit process.");
            // JP2 file format (a box structure) or a raw codestream?
            bool jp2 = length >= 12 && data[offset + 4] == 0x6A && data[offset + 5] == 0x50 && data[offset + 6] == 0x20 && data[offset + 7] == 0x20;
            if (!jp2 && (length < 4 || data[offset] != 0xFF || data[offset + 1] != 0x4F)) throw fail("the JPEG 2000 stream has no start-of-codestream marker.");
            IntPtr codec = api.Get<CreateDecompress>()(jp2 ? 2 : 0);
            if (codec == IntPtr.Zero) throw fail("OpenJPEG could not create a decoder.");
            IntPtr parameters = Marshal.AllocHGlobal(1 << 14); // larger than opj_dparameters_t in any 2.x release
            IntPtr stream = IntPtr.Zero, image = IntPtr.Zero;
            var source = (Source*)Marshal.AllocHGlobal(sizeof(Source));
            var pin = GCHandle.Alloc(data, GCHandleType.Pinned);
            try
            {
                new Span<byte>((void*)parameters, 1 << 14).Clear();
                api.Get<SetErrorHandler>()(codec, Error, IntPtr.Zero);
                api.Get<SetDefaultParameters>()(parameters);
                if (api.Get<SetupDecoder>()(codec, parameters) == 0) throw fail("OpenJPEG rejected the decoder set-up.");
                source->Data = (byte*)pin.AddrOfPinnedObject() + offset;
                source->Length = length;
                source->Position = 0;
                stream = api.Get<StreamCreate>()((UIntPtr)(1u << 16), 1);
                if (stream == IntPtr.Zero) throw fail("OpenJPEG could not create a stream.");
                api.Get<StreamSetRead>()(stream, Read);
                api.Get<StreamSetSkip>()(stream, Skip);
                api.Get<StreamSetSeek>()(stream, Seek);
                api.Get<StreamSetUserData>()(stream, (IntPtr)source, IntPtr.Zero);
                api.Get<StreamSetUserDataLength>()(stream, (ulong)length);
                if (api.Get<ReadHeader>()(stream, codec, out image) == 0 || image == IntPtr.Zero) throw fail("the JPEG 2000 header cannot be read.");
                int n = *(int*)((byte*)image + ImageNumComps);
                byte* comps = *(byte**)((byte*)image + ImageComps);
                if (n < 1 || n > 4 || comps == null) throw fail("the JPEG 2000 image has an invalid number of components.");
                uint w = *(uint*)(comps + CompW), h = *(uint*)(comps + CompH);
                if (w == 0 || h == 0 || (long)w * h * n > maxSamples)
                    throw fail($"the JPEG 2000 frame declares {w}x{h}x{n} samples, more than its pixel data could hold.");
                if (api.Get<DecodeImage>()(codec, stream, image) == 0 || api.Get<EndDecompress>()(codec, stream) == 0)
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
                if (image != IntPtr.Zero) api.Get<ImageDestroy>()(image);
                if (stream != IntPtr.Zero) api.Get<StreamDestroy>()(stream);
                api.Get<DestroyCodec>()(codec);
                pin.Free();
                Marshal.FreeHGlobal((IntPtr)source);
                Marshal.FreeHGlobal(parameters);
            }
        }
    }
}
