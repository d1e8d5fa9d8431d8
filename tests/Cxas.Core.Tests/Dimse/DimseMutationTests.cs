using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using Cxas.Dimse;

namespace Cxas.Core.Tests.Dimse
{
    /// <summary>
    /// The mutation harness: associations of dcmtk's storescu and echoscu with our SCP are recorded through a relay (what
    /// the SCU sent, byte for byte), then replayed to a fresh SCP in thousands of mutated copies (bit flips, bytes set to
    /// 00/FF/random, 32-bit fields set to huge values, truncation, deletion, duplication). Each replay must end by the
    /// SCP's timeouts (the client reads until the connection closes, bounded by a socket timeout); afterwards the SCP
    /// must have no unexpected failure, still answer echoscu, and its managed heap must not have grown beyond a bound.
    /// The decoders also meet mutated A-ASSOCIATE and command encodings directly.
    /// </summary>
    [Collection(nameof(DimseHostileTests))]
    public sealed class DimseMutationTests
    {
        /// <summary>Relays one connection to <paramref name="target"/> and records what the client sent.</summary>
        private static async Task<byte[]> Record(int listenPort, int target, TcpListener listener)
        {
            using var client = await listener.AcceptTcpClientAsync();
            using var server = new TcpClient();
            await server.ConnectAsync(IPAddress.Loopback, target);
            var recorded = new MemoryStream();
            var up = Task.Run(async () =>
            {
                var buffer = new byte[65536];
                int n;
                var from = client.GetStream();
                while ((n = await from.ReadAsync(buffer)) > 0)
                {
                    lock (recorded) recorded.Write(buffer, 0, n);
                    await server.GetStream().WriteAsync(buffer.AsMemory(0, n));
                }
                server.Client.Shutdown(SocketShutdown.Send);
            });
            var down = Task.Run(async () =>
            {
                try { await server.GetStream().CopyToAsync(client.GetStream()); } catch (IOException) { }
            });
            await Task.WhenAny(Task.WhenAll(up, down), Task.Delay(60_000));
            lock (recorded) return recorded.ToArray();
        }

        private static byte[] RecordSession(int scpPort, Func<int, (int Exit, string Out, string Err)> run)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var recording = Record(port, scpPort, listener);
            var r = run(port);
            Assert.True(r.Exit == 0, r.Out + r.Err);
            var bytes = recording.Result;
            listener.Stop();
            return bytes;
        }

        private static byte[] Mutate(byte[] original, Random rng)
        {
            var b = (byte[])original.Clone();
            switch (rng.Next(7))
            {
                case 0: for (int i = rng.Next(1, 5); i > 0; i--) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8)); return b;
                case 1: b[rng.Next(b.Length)] = rng.Next(2) == 0 ? (byte)0 : (byte)0xFF; return b;
                case 2: b[rng.Next(b.Length)] = (byte)rng.Next(256); return b;
                case 3:
                    int at = rng.Next(b.Length - 4);
                    uint v = rng.Next(3) switch { 0 => 0xFFFFFFFF, 1 => 0x7FFFFFFF, _ => (uint)rng.Next() };
                    PduIo.PutBigEndian32(b, at, v);
                    return b;
                case 4: return b.Take(rng.Next(b.Length)).ToArray();
                case 5:
                    int from = rng.Next(b.Length), count = rng.Next(1, Math.Min(64, b.Length - from) + 1);
                    return b.Take(from).Concat(b.Skip(from + count)).ToArray();
                default:
                    int start = rng.Next(b.Length), length = rng.Next(1, Math.Min(256, b.Length - start) + 1);
                    return b.Take(start + length).Concat(b.Skip(start)).ToArray();
            }
        }

        /// <summary>Sends the bytes, half-closes, and reads until the SCP closes (bounded); true when it did close.</summary>
        private static bool Replay(int port, byte[] bytes)
        {
            using var tcp = new TcpClient();
            tcp.Connect(IPAddress.Loopback, port);
            var s = tcp.GetStream();
            s.ReadTimeout = 20_000;
            try
            {
                s.Write(bytes);
                tcp.Client.Shutdown(SocketShutdown.Send);
                var sink = new byte[65536];
                while (s.Read(sink, 0, sink.Length) > 0) { }
                return true;
            }
            catch (IOException ex) when (ex.InnerException is SocketException se && se.SocketErrorCode != SocketError.TimedOut) { return true; }
            catch (IOException) { return false; }
        }

        [OracleFact("storescu", "echoscu")]
        public void Three_thousand_mutated_associations_neither_crash_nor_hang_the_SCP()
        {
            Oracles.Require("storescu", "echoscu");
            var dir = TestSupport.NewTempDir("cxas-dimse");
            var (file, _) = DimseFixtures.Radiograph(dir, 300, rows: 64, cols: 64);
            byte[] store, echo;
            using (var recorder = DimseFixtures.Scp())
            {
                store = RecordSession(recorder.Port, p => TestSupport.Run("storescu", new[] { "-aet", "MOD", "-aec", "CXAS", "--max-send-pdu", "4096", "127.0.0.1", p.ToString(), file }));
                echo = RecordSession(recorder.Port, p => TestSupport.Run("echoscu", new[] { "-aet", "MOD", "-aec", "CXAS", "127.0.0.1", p.ToString() }));
            }
            Assert.True(store.Length > 8192, $"recorded {store.Length} bytes of storescu");

            using var scp = DimseFixtures.Scp(o =>
            {
                o.ArtimTimeout = TimeSpan.FromSeconds(2);
                o.IdleTimeout = TimeSpan.FromSeconds(2);
                o.MaxDataSetBytes = 4 << 20;
                o.MaxAssociations = 64;
            });
            Assert.True(Replay(scp.Port, store)); // the unmutated recording replays cleanly: one instance received
            Assert.True(scp.Received.TryTake(out _, TimeSpan.FromSeconds(10)));

            GC.Collect();
            long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
            var rng = new Random(26);
            const int cases = 3000;
            var hung = new System.Collections.Concurrent.ConcurrentBag<int>();
            Parallel.For(0, cases, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            {
                byte[] mutated;
                lock (rng) mutated = Mutate(i % 3 == 2 ? echo : store, rng);
                if (!Replay(scp.Port, mutated)) hung.Add(i);
            });
            Assert.Empty(hung);
            Assert.True(DimseHostileTests.Eventually(() => scp.Aborted + scp.Received.Count > 0));
            Assert.Equal(0, scp.Faults);
            Assert.Equal(0, TestSupport.Run("echoscu", new[] { "-aet", "MOD", "-aec", "CXAS", "127.0.0.1", scp.Port.ToString() }).Exit);
            while (scp.Received.TryTake(out _)) { }
            long heapAfter = GC.GetTotalMemory(forceFullCollection: true);
            Assert.True(heapAfter - heapBefore < 64L << 20, $"heap grew by {heapAfter - heapBefore} bytes");
        }

        [Fact]
        public void Mutated_A_ASSOCIATE_and_command_encodings_fail_only_as_protocol_errors()
        {
            var rq = new AssociateMessage { CalledAe = "CXAS", CallingAe = "MOD", MaxPduLength = 16384 };
            rq.ScpRoles.Add("1.2.840.10008.5.1.4.1.1.1");
            for (byte id = 1; id < 8; id += 2)
                rq.Contexts.Add(new PresentationContext { Id = id, AbstractSyntax = "1.2.840.10008.5.1.4.1.1.1", TransferSyntaxes = DimseData.StorageTransferSyntaxes.Take(3).ToList() });
            var associate = rq.Encode(request: true);
            var command = new DimseCommand().Set(DimseCommand.AffectedSopClassUid, "1.2.840.10008.5.1.4.1.1.1").Set(DimseCommand.Field, CommandField.CStoreRq)
                .Set(DimseCommand.MessageId, 7).Set(DimseCommand.AffectedSopInstanceUid, "1.2.3.4.5").Encode();
            var decoded = AssociateMessage.Decode(associate, request: true);
            Assert.Equal(4, decoded.Contexts.Count);
            Assert.Contains("1.2.840.10008.5.1.4.1.1.1", decoded.ScpRoles);
            Assert.Equal("1.2.3.4.5", DimseCommand.Decode(command).GetString(DimseCommand.AffectedSopInstanceUid));
            var rng = new Random(8);
            for (int i = 0; i < 20000; i++)
            {
                var a = Mutate(associate, rng);
                try { AssociateMessage.Decode(a, request: rng.Next(2) == 0); } catch (DimseProtocolException) { }
                var c = Mutate(command, rng);
                try { DimseCommand.Decode(c); } catch (DimseProtocolException) { }
            }
        }
    }
}
