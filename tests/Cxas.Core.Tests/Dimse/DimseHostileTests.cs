using System.Net;
using System.Net.Sockets;
using Cxas.Dimse;

namespace Cxas.Core.Tests.Dimse
{
    [CollectionDefinition(nameof(DimseHostileTests), DisableParallelization = true)]
    public sealed class DimseHostileCollection { }

    /// <summary>
    /// Hostile peers against our SCP, over raw sockets: PDU lengths of 4 GB (refused before any allocation: allocations
    /// across all threads are measured, so this class runs alone), endless P-DATA, associations never released, and a
    /// mutation harness replaying mutated copies of associations recorded from dcmtk's storescu and echoscu. In every
    /// case the SCP must answer or abort within its timeouts, stay up, and never fail unexpectedly (<see cref="DimseStorageScp.Faults"/>).
    /// </summary>
    [Collection(nameof(DimseHostileTests))]
    public sealed class DimseHostileTests
    {
        private const string Cr = "1.2.840.10008.5.1.4.1.1.1";

        private static DimseStorageScp Scp(Action<StorageScpOptions>? more = null) => DimseFixtures.Scp(o =>
        {
            o.ArtimTimeout = TimeSpan.FromSeconds(1);
            o.IdleTimeout = TimeSpan.FromSeconds(1);
            o.MaxDataSetBytes = 1 << 20;
            more?.Invoke(o);
        });

        private static NetworkStream Connect(int port, out TcpClient tcp)
        {
            tcp = new TcpClient();
            tcp.Connect(IPAddress.Loopback, port);
            var s = tcp.GetStream();
            s.ReadTimeout = s.WriteTimeout = 30_000; // bounded: the SCP's timeouts are 1 s
            return s;
        }

        /// <summary>An association for CR storage in explicit VR little endian; the stream after A-ASSOCIATE-AC.</summary>
        private static NetworkStream Associate(int port, out TcpClient tcp)
        {
            var s = Connect(port, out tcp);
            var rq = new AssociateMessage { CalledAe = "CXAS", CallingAe = "HOSTILE", MaxPduLength = 16384 };
            rq.Contexts.Add(new PresentationContext { Id = 1, AbstractSyntax = Cr, TransferSyntaxes = { Cxas.Dicom.TransferSyntaxes.ExplicitLittle } });
            PduIo.Write(s, PduType.AssociateRq, rq.Encode(request: true));
            Assert.Equal(PduType.AssociateAc, PduIo.Read(s, 1 << 20)!.Value.Type);
            return s;
        }

        /// <summary>What the SCP does next: the type of the PDU it sends, or null when it just closes.</summary>
        private static PduType? Next(NetworkStream s)
        {
            try { return PduIo.Read(s, 1 << 20)?.Type; }
            catch (IOException) { return null; }
        }

        /// <summary>Whether <paramref name="condition"/> holds within 10 s (the SCP counts an abort just after sending it).</summary>
        internal static bool Eventually(Func<bool> condition)
        {
            for (int i = 0; i < 200 && !condition(); i++) System.Threading.Thread.Sleep(50);
            return condition();
        }

        private static byte[] Header(PduType type, uint length)
        {
            var h = new byte[6];
            h[0] = (byte)type;
            PduIo.PutBigEndian32(h, 2, length);
            return h;
        }

        [Theory]
        [InlineData(0xFFFFFFFFu, true)]
        [InlineData(0x40000000u, true)]
        [InlineData(0xFFFFFFFFu, false)]
        public void A_PDU_announcing_gigabytes_is_aborted_without_allocating(uint length, bool afterAssociation)
        {
            using var scp = Scp();
            long before = GC.GetTotalAllocatedBytes(precise: true);
            NetworkStream s;
            TcpClient tcp;
            if (afterAssociation)
            {
                s = Associate(scp.Port, out tcp);
                s.Write(Header(PduType.PData, length));
                s.Write(new byte[64]);
            }
            else
            {
                s = Connect(scp.Port, out tcp);
                s.Write(Header(PduType.AssociateRq, length));
            }
            Assert.Equal(PduType.Abort, Next(s));
            Assert.Null(Next(s));
            tcp.Dispose();
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            Assert.True(allocated < 32L << 20, $"{allocated} bytes allocated");
            Assert.Equal(0, scp.Faults);
        }

        /// <summary>
        /// A C-STORE-RQ, then data set fragments of <paramref name="size"/> bytes that never end (up to a bounded
        /// 1,000,000): the SCP must stop reading and abort long before. Endless P-DATA meets the 1 MiB data set bound;
        /// empty fragments, a few bytes on the wire each and faster than the idle timeout, meet the fragment rule.
        /// </summary>
        [Theory]
        [InlineData(16000, 8L << 20)]
        [InlineData(0, 100_000L)]
        public void Endless_or_trickled_P_DATA_is_aborted(int size, long most)
        {
            using var scp = Scp();
            var s = Associate(scp.Port, out var tcp);
            using var _ = tcp;
            s.Write(PData(StoreCommand("1.2.3.4"), isCommand: true, last: true));
            var fragment = PData(new byte[size], isCommand: false, last: false);
            long sent = 0;
            try
            {
                for (; sent < 1_000_000; sent++) s.Write(fragment);
            }
            catch (IOException) { }
            Assert.True(sent * Math.Max(1, size) < most, $"{sent} fragments of {size} bytes sent before the SCP stopped reading");
            Assert.True(Eventually(() => scp.Aborted == 1));
            Assert.Equal(0, scp.Faults);
        }

        /// <summary>A C-STORE-RQ of a CR instance, announcing a data set.</summary>
        private static byte[] StoreCommand(string sop) => new DimseCommand().Set(DimseCommand.AffectedSopClassUid, Cr).Set(DimseCommand.Field, CommandField.CStoreRq)
            .Set(DimseCommand.MessageId, 1).Set(DimseCommand.Priority, 0).Set(DimseCommand.AffectedSopInstanceUid, sop).Set(DimseCommand.DataSetType, 0).Encode();

        private static byte[] PData(byte[] data, bool isCommand, bool last)
        {
            var pdu = new byte[6 + 6 + data.Length];
            pdu[0] = (byte)PduType.PData;
            PduIo.PutBigEndian32(pdu, 2, (uint)(6 + data.Length));
            PduIo.PutBigEndian32(pdu, 6, (uint)(2 + data.Length));
            pdu[10] = 1;
            pdu[11] = (byte)((isCommand ? 1 : 0) | (last ? 2 : 0));
            Array.Copy(data, 0, pdu, 12, data.Length);
            return pdu;
        }

        [Fact]
        public void An_acknowledged_instance_is_already_in_the_spool_and_one_cut_off_midway_leaves_nothing()
        {
            using var scp = Scp();
            var dir = TestSupport.NewTempDir("cxas-dimse");
            var (path, o) = DimseFixtures.Radiograph(dir, 400);
            var (_, sop, _, dataSet) = DimseData.FromPart10(path, File.ReadAllBytes(path));

            // Cut off: half the data set, then the connection drops (a sender killed mid-association).
            var cut = Associate(scp.Port, out var tcp1);
            cut.Write(PData(StoreCommand(sop), isCommand: true, last: true));
            cut.Write(PData(dataSet.Take(dataSet.Length / 2).ToArray(), isCommand: false, last: false));
            tcp1.Dispose();
            Assert.True(Eventually(() => scp.Aborted == 1));
            Assert.Empty(Directory.GetFiles(scp.SpoolDirectory)); // no partial file, not even a temporary one
            Assert.Empty(scp.Pending());

            // Whole: when the success status arrives, the instance is on disk, before anything was taken from the queue.
            var s = Associate(scp.Port, out var tcp2);
            using var _ = tcp2;
            s.Write(PData(StoreCommand(sop), isCommand: true, last: true));
            s.Write(PData(dataSet, isCommand: false, last: true));
            var rsp = PduIo.Read(s, 1 << 20)!.Value;
            Assert.Equal(PduType.PData, rsp.Type);
            var status = DimseCommand.Decode(rsp.Body.Skip(6).ToArray());
            Assert.Equal(CommandField.CStoreRsp, status.CommandFieldValue);
            Assert.Equal(0, status.StatusValue);
            var spooled = Assert.Single(scp.Pending());
            Assert.Equal(o.Instance + ".dcm", Path.GetFileName(spooled));
            Assert.Equal(0, scp.Faults);
        }

        [Fact]
        public void An_association_never_released_is_aborted_after_the_idle_timeout()
        {
            using var scp = Scp();
            var s = Associate(scp.Port, out var tcp);
            using var _ = tcp;
            Assert.Equal(PduType.Abort, Next(s)); // we say nothing; the SCP gives up
            Assert.Null(Next(s));
            Assert.True(Eventually(() => scp.Aborted == 1));
        }

        [Fact]
        public void A_connection_that_never_asks_for_association_is_closed_by_ARTIM()
        {
            using var scp = Scp();
            var s = Connect(scp.Port, out var tcp);
            using var _ = tcp;
            Assert.Null(Next(s));
        }

        [Fact]
        public void A_PDU_trickled_a_byte_at_a_time_within_the_read_timeout_is_cut_off()
        {
            using var scp = Scp(); // ARTIM 1 s: the read timeout alone would wait 1 s per byte, forever
            var s = Connect(scp.Port, out var tcp);
            using var _ = tcp;
            s.Write(Header(PduType.AssociateRq, 1000));
            int sent = 0;
            try
            {
                for (; sent < 100; sent++)
                {
                    s.Write(new byte[1]);
                    if (tcp.Client.Poll(200_000, SelectMode.SelectRead)) break; // the SCP answered or closed
                }
            }
            catch (IOException) { }
            Assert.True(sent < 50, $"{sent} bytes trickled before the SCP gave up");
            Assert.Equal(0, scp.Faults);
        }

        [Fact]
        public void Calling_another_AE_title_gets_A_ASSOCIATE_RJ_called_AE_not_recognised()
        {
            using var scp = Scp();
            var s = Connect(scp.Port, out var tcp);
            using var _ = tcp;
            var rq = new AssociateMessage { CalledAe = "SOMEONE", CallingAe = "HOSTILE" };
            rq.Contexts.Add(new PresentationContext { Id = 1, AbstractSyntax = DimseData.Verification, TransferSyntaxes = { Cxas.Dicom.TransferSyntaxes.ImplicitLittle } });
            PduIo.Write(s, PduType.AssociateRq, rq.Encode(request: true));
            var rj = PduIo.Read(s, 1 << 20)!.Value;
            Assert.Equal(PduType.AssociateRj, rj.Type);
            Assert.Equal(new byte[] { 0, 1, 1, 7 }, rj.Body);
        }
    }
}
