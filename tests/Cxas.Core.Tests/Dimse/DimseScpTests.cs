using System.Net;
using Cxas.Dimse;

namespace Cxas.Core.Tests.Dimse
{
    /// <summary>
    /// Our storage SCP against dcmtk's SCUs: echoscu (AE title checks), storescu (fragmented data sets, several
    /// associations at once); what is spooled is compared with what was sent by pydicom, and the spool survives a restart.
    /// </summary>
    public sealed class DimseScpTests
    {
        private static (int Exit, string Out, string Err) Echo(int port, string called, string calling) =>
            TestSupport.Run("echoscu", new[] { "-aet", calling, "-aec", called, "127.0.0.1", port.ToString() }, timeoutMs: 60_000);

        private static (int Exit, string Out, string Err) StoreScu(int port, string calling, params string[] files) =>
            TestSupport.Run("storescu", new[] { "-aet", calling, "-aec", "CXAS", "--max-send-pdu", "4096", "127.0.0.1", port.ToString() }.Concat(files).ToArray(), timeoutMs: 120_000);

        [OracleFact("echoscu")]
        public void Echoscu_is_answered_and_AE_titles_not_allowed_are_rejected()
        {
            Oracles.Require("echoscu");
            var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
            using var scp = DimseFixtures.Scp(o => { o.AllowedCallingAe = new[] { "MODALITY" }; o.Log = log.Enqueue; });
            Assert.Equal(0, Echo(scp.Port, "CXAS", "MODALITY").Exit);
            var wrongCalled = Echo(scp.Port, "OTHER", "MODALITY");
            Assert.NotEqual(0, wrongCalled.Exit);
            Assert.Contains("Called AE Title Not Recognized", wrongCalled.Out + wrongCalled.Err, StringComparison.OrdinalIgnoreCase);
            var wrongCalling = Echo(scp.Port, "CXAS", "INTRUDER");
            Assert.NotEqual(0, wrongCalling.Exit);
            Assert.Contains("Calling AE Title Not Recognized", wrongCalling.Out + wrongCalling.Err, StringComparison.OrdinalIgnoreCase);
            Assert.Contains(log, l => l.Contains("'INTRUDER' rejected"));
            Assert.Equal(0, scp.Faults);
        }

        [OracleFact("echoscu")]
        public void Associations_beyond_the_limit_are_rejected_as_a_transient_local_limit()
        {
            Oracles.Require("echoscu");
            using var scp = DimseFixtures.Scp(o => o.MaxAssociations = 1);
            // One association held open by a raw peer, then echoscu: refused; once it is released, echoscu succeeds.
            using var tcp = new System.Net.Sockets.TcpClient();
            tcp.Connect(IPAddress.Loopback, scp.Port);
            var s = tcp.GetStream();
            var rq = new AssociateMessage { CalledAe = "CXAS", CallingAe = "HOLDER" };
            rq.Contexts.Add(new PresentationContext { Id = 1, AbstractSyntax = DimseData.Verification, TransferSyntaxes = { Cxas.Dicom.TransferSyntaxes.ImplicitLittle } });
            PduIo.Write(s, PduType.AssociateRq, rq.Encode(request: true));
            Assert.Equal(PduType.AssociateAc, PduIo.Read(s, 1 << 20)!.Value.Type);
            var refused = Echo(scp.Port, "CXAS", "MODALITY");
            Assert.NotEqual(0, refused.Exit);
            Assert.Contains("Local Limit Exceeded", refused.Out + refused.Err, StringComparison.OrdinalIgnoreCase);
            PduIo.WriteRelease(s, response: false);
            Assert.Equal(PduType.ReleaseRp, PduIo.Read(s, 1 << 20)!.Value.Type);
            Assert.True(DimseHostileTests.Eventually(() => Echo(scp.Port, "CXAS", "MODALITY").Exit == 0));
        }

        [OracleFact("echoscu")]
        public void A_host_not_on_the_allow_list_gets_no_association()
        {
            Oracles.Require("echoscu");
            using var scp = DimseFixtures.Scp(o => o.AllowedHosts = new[] { IPAddress.Parse("10.9.8.7") });
            Assert.NotEqual(0, Echo(scp.Port, "CXAS", "MODALITY").Exit);
            using var open = DimseFixtures.Scp(o => o.AllowedHosts = new[] { IPAddress.Loopback });
            Assert.Equal(0, Echo(open.Port, "CXAS", "MODALITY").Exit);
        }

        [OracleFact("storescu", "pydicom")]
        public void Storescu_instances_in_4096_byte_fragments_are_spooled_intact_and_emitted()
        {
            Oracles.Require("storescu", "pydicom");
            var dir = TestSupport.NewTempDir("cxas-dimse");
            var files = new[] { DimseFixtures.Radiograph(dir, 11, rows: 200, cols: 160), DimseFixtures.Radiograph(dir, 12) };
            using var scp = DimseFixtures.Scp();
            var r = StoreScu(scp.Port, "MODALITY", files.Select(f => f.Path).ToArray());
            Assert.True(r.Exit == 0, r.Out + r.Err);
            var received = new List<ReceivedInstance>();
            for (int i = 0; i < files.Length; i++)
            {
                Assert.True(scp.Received.TryTake(out var one, TimeSpan.FromSeconds(30)));
                received.Add(one!);
            }
            foreach (var (path, o) in files)
            {
                var got = received.Single(x => x.SopInstanceUid == o.Instance);
                Assert.Equal("MODALITY", got.CallingAe);
                Assert.Equal(SyntheticDicomClass, got.SopClassUid);
                Assert.Equal("same", DimseFixtures.PydicomCompare(path, got.Path));
            }
            Assert.Equal(0, scp.Faults);
        }

        private const string SyntheticDicomClass = "1.2.840.10008.5.1.4.1.1.1";

        [OracleFact("storescu", "pydicom")]
        public void Several_associations_at_once_are_all_received()
        {
            Oracles.Require("storescu", "pydicom");
            var dir = TestSupport.NewTempDir("cxas-dimse");
            var batches = Enumerable.Range(0, 4).Select(b => Enumerable.Range(0, 3).Select(i => DimseFixtures.Radiograph(dir, 100 + b * 10 + i)).ToArray()).ToArray();
            using var scp = DimseFixtures.Scp();
            var runs = batches.Select((batch, b) => System.Threading.Tasks.Task.Run(() => StoreScu(scp.Port, $"MOD{b}", batch.Select(f => f.Path).ToArray()))).ToArray();
            System.Threading.Tasks.Task.WaitAll(runs);
            Assert.All(runs, t => Assert.Equal(0, t.Result.Exit));
            var got = new HashSet<string>();
            for (int i = 0; i < 12; i++)
            {
                Assert.True(scp.Received.TryTake(out var one, TimeSpan.FromSeconds(30)));
                got.Add(one!.SopInstanceUid);
            }
            Assert.Equal(batches.SelectMany(b => b).Select(f => f.Options.Instance).OrderBy(x => x), got.OrderBy(x => x));
            Assert.Equal(0, scp.Faults);
        }

        [OracleFact("storescu")]
        public void A_restart_lists_the_spooled_instances_not_yet_processed()
        {
            Oracles.Require("storescu");
            var dir = TestSupport.NewTempDir("cxas-dimse");
            var files = Enumerable.Range(0, 3).Select(i => DimseFixtures.Radiograph(dir, 200 + i)).ToArray();
            string spool;
            using (var scp = DimseFixtures.Scp())
            {
                Assert.Equal(0, StoreScu(scp.Port, "MODALITY", files.Select(f => f.Path).ToArray()).Exit);
                Assert.True(scp.Received.TryTake(out var first, TimeSpan.FromSeconds(30)));
                spool = Path.GetDirectoryName(first!.Path)!;
                scp.MarkProcessed(first.Path); // the first was handed on; the node then stops (or dies)
            }
            File.WriteAllBytes(Path.Combine(spool, ".1.2.3.abc.part"), new byte[10]); // a write cut off by a crash
            using var again = new DimseStorageScp(new StorageScpOptions { Port = 0, Address = IPAddress.Loopback, SpoolDirectory = spool });
            var pending = again.Pending();
            Assert.Equal(2, pending.Count);
            Assert.Empty(Directory.GetFiles(spool, ".*.part"));
            Assert.Single(Directory.GetFiles(Path.Combine(spool, "processed")));
            Assert.Equal(files.Select(f => f.Options.Instance + ".dcm").OrderBy(x => x),
                pending.Concat(Directory.GetFiles(Path.Combine(spool, "processed"))).Select(Path.GetFileName).OrderBy(x => x));
        }

        /// <summary>
        /// A temporary spool (the C-MOVE destination's) is removed when the SCP stops: the instances it wrote and nobody
        /// took, spooled or processed, and its folders. A file someone else put there stays, with its folder; an existing
        /// folder is refused as a temporary spool.
        /// </summary>
        [OracleFact("storescu")]
        public void A_temporary_spool_is_removed_on_stop_leaving_what_others_put_there()
        {
            Oracles.Require("storescu");
            var dir = TestSupport.NewTempDir("cxas-dimse");
            var files = Enumerable.Range(0, 2).Select(i => DimseFixtures.Radiograph(dir, 300 + i)).ToArray();
            var spool = Path.Combine(dir, "move-spool");
            using (var scp = DimseFixtures.Scp(o => { o.SpoolDirectory = spool; o.TemporarySpool = true; }))
            {
                Assert.Equal(0, StoreScu(scp.Port, "PACS", files.Select(f => f.Path).ToArray()).Exit);
                Assert.True(scp.Received.TryTake(out var first, TimeSpan.FromSeconds(30)));
                Assert.True(scp.Received.TryTake(out _, TimeSpan.FromSeconds(30)));
                scp.MarkProcessed(first!.Path);
                Assert.Equal(2, Directory.GetFiles(spool, "*.dcm", SearchOption.AllDirectories).Length);
            }
            Assert.False(Directory.Exists(spool));

            var refused = Assert.Throws<CxasException>(() =>
                new DimseStorageScp(new StorageScpOptions { Port = 0, Address = IPAddress.Loopback, SpoolDirectory = dir, TemporarySpool = true }));
            Assert.Equal(CxasErrorKind.InvalidArgument, refused.Kind);
            Assert.True(File.Exists(files[0].Path));

            var shared = Path.Combine(dir, "move-spool-2");
            var foreign = Path.Combine(shared, "notes.txt");
            using (var scp = DimseFixtures.Scp(o => { o.SpoolDirectory = shared; o.TemporarySpool = true; }))
            {
                Assert.Equal(0, StoreScu(scp.Port, "PACS", files[0].Path).Exit);
                Assert.True(scp.Received.TryTake(out _, TimeSpan.FromSeconds(30)));
                File.WriteAllText(foreign, "an admin's note");
            }
            Assert.Equal(new[] { foreign }, Directory.GetFiles(shared, "*", SearchOption.AllDirectories));
        }
    }
}
