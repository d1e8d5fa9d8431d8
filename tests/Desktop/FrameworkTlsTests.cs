using System.Net;
using Cxas.DicomWeb;
using Cxas.Provisioning;

namespace Cxas.Core.Tests
{
    /// <summary>
    /// On .NET Framework (here Mono, which follows the same process-wide setting) the DICOMweb client and the model
    /// downloader add TLS 1.2 to the protocols the process offers before their first request, so a TLS 1.2-only server
    /// is reachable from Windows PowerShell 5.1; what was allowed stays allowed, and SystemDefault is not touched.
    /// </summary>
    [Collection("ServicePointManager")]
    public sealed class FrameworkTlsTests : IDisposable
    {
        private readonly SecurityProtocolType _saved = ServicePointManager.SecurityProtocol;

        public void Dispose() => ServicePointManager.SecurityProtocol = _saved;

        [Fact]
        public void TheDicomWebClientAddsTls12ToWhatTheProcessAllows()
        {
            ServicePointManager.SecurityProtocol = SecurityProtocolType.Tls;
            using (new DicomWebClient(new Uri("https://127.0.0.1:1/dicom-web"))) { }
            Assert.Equal(SecurityProtocolType.Tls | SecurityProtocolType.Tls12, ServicePointManager.SecurityProtocol);
        }

        [Fact]
        public void TheModelDownloaderAddsTls12ToWhatTheProcessAllows()
        {
            ServicePointManager.SecurityProtocol = SecurityProtocolType.Tls | SecurityProtocolType.Tls11;
            using (new ModelDownloader()) { }
            Assert.Equal(SecurityProtocolType.Tls | SecurityProtocolType.Tls11 | SecurityProtocolType.Tls12, ServicePointManager.SecurityProtocol);
        }

        [Fact]
        public void SystemDefaultIsLeftToTheOperatingSystem()
        {
            ServicePointManager.SecurityProtocol = 0;
            using (new ModelDownloader()) { }
            Assert.Equal((SecurityProtocolType)0, ServicePointManager.SecurityProtocol);
        }
    }
}
