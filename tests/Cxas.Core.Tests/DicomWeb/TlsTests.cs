using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using Cxas.DicomWeb;

namespace Cxas.Core.Tests.DicomWeb
{
    /// <summary>
    /// TLS: a DICOMweb server on loopback with a self-signed certificate is refused by default (once, without retries) and
    /// accepted with SkipCertificateCheck.
    /// </summary>
    public sealed class TlsTests : IDisposable
    {
        private readonly TcpListener _listener = new TcpListener(IPAddress.Loopback, 0);
        private readonly X509Certificate2 _certificate;
        private readonly Thread _thread;
        private int _connections;

        public TlsTests()
        {
            using var rsa = RSA.Create(2048);
            var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            _certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
            _listener.Start();
            _thread = new Thread(Serve) { IsBackground = true };
            _thread.Start();
        }

        private int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        private void Serve()
        {
            while (true)
            {
                TcpClient client;
                try { client = _listener.AcceptTcpClient(); }
                catch (Exception) { return; }
                Interlocked.Increment(ref _connections);
                using (client)
                using (var ssl = new SslStream(client.GetStream()))
                {
                    try
                    {
                        ssl.AuthenticateAsServer(_certificate);
                        var buffer = new byte[8192];
                        var head = new StringBuilder();
                        while (!head.ToString().Contains("\r\n\r\n"))
                        {
                            int n = ssl.Read(buffer, 0, buffer.Length);
                            if (n <= 0) break;
                            head.Append(Encoding.ASCII.GetString(buffer, 0, n));
                        }
                        var answer = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]");
                        ssl.Write(answer, 0, answer.Length);
                    }
                    catch (Exception) { }
                }
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _thread.Join(2000);
            _certificate.Dispose();
        }

        [Fact]
        public void AnUntrustedCertificateIsRefusedOnceAndAcceptedOnlyWhenAsked()
        {
            var root = new Uri($"https://127.0.0.1:{Port}/dicom-web");
            var waits = 0;
            using (var strict = new DicomWebClient(root, DicomWebCredential.Basic("cxas", "pw"), new DicomWebOptions { Delay = (t, c) => waits++ }))
            {
                var ex = Assert.Throws<CxasException>(() => strict.Search(new DicomWebQuery()).ToList());
                Assert.Equal(CxasErrorKind.Network, ex.Kind);
                Assert.Contains("certificate", ex.Message);
                Assert.Equal(0, waits);
                Assert.Equal(1, _connections);
            }
            using var lax = new DicomWebClient(root, DicomWebCredential.Basic("cxas", "pw"), new DicomWebOptions { SkipCertificateCheck = true });
            Assert.Empty(lax.Search(new DicomWebQuery()));
            Assert.Equal(2, _connections);
        }
    }
}
