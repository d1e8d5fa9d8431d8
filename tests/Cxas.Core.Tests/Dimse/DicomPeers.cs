using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cxas.Core.Tests.Dicom;
using Cxas.Dimse;

namespace Cxas.Core.Tests.Dimse
{
    /// <summary>
    /// Real DIMSE peers for the tests: dcmtk's storescp and dcmqrscp started as plain processes on a free loopback port
    /// with a generated configuration, stopped (killed) when disposed; our own storage SCP on a free port; synthetic
    /// radiographs to send; pydicom to compare what arrived with what was sent.
    /// </summary>
    internal sealed class PeerProcess : IDisposable
    {
        private readonly Process _process;
        public int Port { get; }
        public string Folder { get; }

        private PeerProcess(Process process, int port, string folder) { _process = process; Port = port; Folder = folder; }

        public static int FreePort()
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            try { return ((IPEndPoint)l.LocalEndpoint).Port; } finally { l.Stop(); }
        }

        /// <summary>Starts <paramref name="exe"/> and waits (bounded) until its port accepts connections.</summary>
        public static PeerProcess Start(string exe, string folder, int port, params string[] args)
        {
            var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder };
            foreach (var a in args) psi.ArgumentList.Add(a);
            var p = Process.Start(psi)!;
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            for (int i = 0; i < 200; i++)
            {
                if (p.HasExited) throw new InvalidOperationException($"{exe} exited with code {p.ExitCode} before listening.");
                try
                {
                    using var c = new TcpClient();
                    c.Connect(IPAddress.Loopback, port);
                    return new PeerProcess(p, port, folder);
                }
                catch (SocketException) { System.Threading.Thread.Sleep(50); }
            }
            p.Kill(true);
            throw new InvalidOperationException($"{exe} did not listen on port {port}.");
        }

        /// <summary>dcmtk storescp writing what it receives to <c>Folder/in</c>; extra args (e.g. -pdu 4096) before the port.</summary>
        public static PeerProcess StoreScp(string aeTitle, params string[] extra)
        {
            var folder = TestSupport.NewTempDir("cxas-storescp");
            var incoming = Directory.CreateDirectory(Path.Combine(folder, "in")).FullName;
            int port = FreePort();
            var args = new List<string> { "--aetitle", aeTitle, "-od", incoming };
            args.AddRange(extra);
            args.Add(port.ToString());
            return Start("storescp", folder, port, args.ToArray());
        }

        /// <summary>
        /// dcmqrscp serving one read-write storage area as <paramref name="aeTitle"/> to any peer; <paramref name="moveDestinations"/>
        /// become its host table (AE title, port on 127.0.0.1) for C-MOVE.
        /// </summary>
        public static PeerProcess QrScp(string aeTitle, params (string Ae, int Port)[] moveDestinations)
        {
            var folder = TestSupport.NewTempDir("cxas-dcmqrscp");
            var db = Directory.CreateDirectory(Path.Combine(folder, "db")).FullName;
            int port = FreePort();
            var hosts = string.Join("\n", moveDestinations.Select((d, i) => $"dest{i} = ({d.Ae}, 127.0.0.1, {d.Port})"));
            var config = $"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n\nHostTable BEGIN\n{hosts}\nHostTable END\n\n" +
                         $"VendorTable BEGIN\nVendorTable END\n\nAETable BEGIN\n{aeTitle} {db} RW (100, 1024mb) ANY\nAETable END\n";
            var configFile = Path.Combine(folder, "dcmqrscp.cfg");
            File.WriteAllText(configFile, config);
            return Start("dcmqrscp", folder, port, "-c", configFile, "--disable-host-lookup");
        }

        public void Dispose()
        {
            try { if (!_process.HasExited) _process.Kill(true); _process.WaitForExit(10_000); } catch (InvalidOperationException) { }
            _process.Dispose();
        }
    }

    internal static class DimseFixtures
    {
        /// <summary>A synthetic CR (explicit VR little endian Part 10); returns its path and SOP instance UID.</summary>
        public static (string Path, SyntheticDicom.Options Options) Radiograph(string folder, int seed, string? study = null, string? series = null, int rows = 96, int cols = 128)
        {
            var o = new SyntheticDicom.Options { Rows = rows, Columns = cols };
            if (study != null) o.Study = study;
            if (series != null) o.Series = series;
            var path = Path.Combine(folder, $"syn{seed}.dcm");
            SyntheticDicom.Write(path, SyntheticDicom.Image(rows, cols, 12, seed), o);
            return (path, o);
        }

        /// <summary>pydicom's verdict on two files: "same" when SOP instance, study and pixel arrays are equal.</summary>
        public static string PydicomCompare(string expected, string actual) => TestSupport.Python(
            "import sys, pydicom, numpy as np\n" +
            "a = pydicom.dcmread(sys.argv[1]); b = pydicom.dcmread(sys.argv[2])\n" +
            "ok = a.SOPInstanceUID == b.SOPInstanceUID and a.StudyInstanceUID == b.StudyInstanceUID and np.array_equal(a.pixel_array, b.pixel_array)\n" +
            "print('same' if ok else 'differ')", expected, actual).Trim();

        /// <summary>Our storage SCP on a free loopback port, spooling into a new folder.</summary>
        public static DimseStorageScp Scp(Action<StorageScpOptions>? configure = null)
        {
            var options = new StorageScpOptions { Port = 0, Address = IPAddress.Loopback, AeTitle = "CXAS", SpoolDirectory = TestSupport.NewTempDir("cxas-spool") };
            configure?.Invoke(options);
            var scp = new DimseStorageScp(options);
            scp.Start();
            return scp;
        }

        public static DimsePeer Peer(int port, string called, string calling = "CXASTEST") =>
            new DimsePeer { Host = "127.0.0.1", Port = port, CalledAe = called, CallingAe = calling, ArtimTimeout = TimeSpan.FromSeconds(20), IdleTimeout = TimeSpan.FromSeconds(60) };
    }
}
