using System.Runtime.CompilerServices;
using Cxas.Dicom;
using Cxas.Imaging;

namespace Cxas
{
    /// <summary>
    /// The composition root: the one place that names every built-in image format, run by the runtime when Cxas.Core is
    /// first used. It fills <see cref="ImageReaderConfiguration.Default"/> in recognition order (PNG, JPEG, TIFF, DICOM);
    /// the imaging code never names a format it does not implement itself.
    /// </summary>
    internal static class Composition
    {
        [ModuleInitializer]
        internal static void RegisterBuiltInFormats()
        {
            var readers = ImageReaderConfiguration.Default;
            readers.Register(new PngReader());
            readers.Register(new JpegReader());
            readers.Register(new TiffReader());
            readers.Register(new DicomImageReader());
        }
    }
}
