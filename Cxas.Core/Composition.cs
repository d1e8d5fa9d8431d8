using System.Runtime.CompilerServices;
using Cxas.Dicom;
using Cxas.Dicom.Codecs;
using Cxas.Imaging;

namespace Cxas
{
    /// <summary>
    /// The composition root: the one place that names every built-in image format, run by the runtime when Cxas.Core is
    /// first used. It fills <see cref="ImageReaderConfiguration.Default"/> in recognition order (DICOM, PNG, JPEG, TIFF)
    /// and the DICOM frame codecs (<see cref="FrameDecoders.Default"/>), then makes both read-only: they are the parts
    /// of <c>CxasConfiguration.Default</c>, which no caller may change (a caller clones it and registers there);
    /// the imaging code never names a format it does not implement itself.
    /// <para>DICOM comes first because its signature, <c>DICM</c> at offset 128, follows a 128-byte preamble whose content
    /// is free (PS3.10 7.1): it may hold a TIFF header so that one file serves DICOM and TIFF readers both, and asked
    /// first, TIFF would claim such a file. Asking DICOM first cannot take another format's file: its other test, a group
    /// 0002 or 0008 element at byte 0 (a file without preamble), never matches the first bytes of PNG (89 50), JPEG
    /// (FF D8) or TIFF (49 49, 4D 4D).</para>
    /// </summary>
    internal static class Composition
    {
        [ModuleInitializer]
        internal static void RegisterBuiltInFormats()
        {
            var readers = ImageReaderConfiguration.Default;
            readers.Register(new DicomImageReader(FrameDecoders.Default));
            readers.Register(new PngReader());
            readers.Register(new JpegReader());
            readers.Register(new TiffReader());

            // The DICOM frame codecs, named here rather than by the registry in Cxas.Dicom so that the codecs, which
            // implement Cxas.Dicom's decoder contract, are the only side that names the other.
            var decoders = FrameDecoders.Default;
            decoders.Register(RleDecoder.FrameDecoder);
            decoders.Register(JpegDecoder.FrameDecoder);
            decoders.Register(CharLs.FrameDecoder);
            decoders.Register(OpenJpeg.FrameDecoder);

            readers.MakeReadOnly();
            decoders.MakeReadOnly();
        }
    }
}
