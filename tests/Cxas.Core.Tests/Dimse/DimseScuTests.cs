using Cxas.DicomWeb;
using Cxas.Dimse;

namespace Cxas.Core.Tests.Dimse
{
    /// <summary>
    /// Our service class user against dcmtk's SCPs: storescp (verification, storage, with a small maximum PDU so that our
    /// data sets go out in many fragments) and dcmqrscp (storage, Study Root C-FIND at three levels, C-GET). What the
    /// peers hold is compared with what was sent by pydicom.
    /// </summary>
    public sealed class DimseScuTests
    {
        [OracleFact("storescp")]
        public void Echo_against_storescp_succeeds_and_times_the_round_trip()
        {
            Oracles.Require("storescp");
            using var scp = PeerProcess.StoreScp("STORESCP");
            var rtt = new DimseClient(DimseFixtures.Peer(scp.Port, "STORESCP")).Echo();
            Assert.True(rtt > TimeSpan.Zero && rtt < TimeSpan.FromSeconds(60), $"round trip {rtt}");
        }

        [OracleFact("storescp")]
        public void Echo_to_a_closed_port_is_a_network_error_naming_the_peer()
        {
            Oracles.Require("storescp");
            int port = PeerProcess.FreePort();
            var ex = Assert.Throws<CxasException>(() => new DimseClient(DimseFixtures.Peer(port, "NOBODY")).Echo());
            Assert.Equal(CxasErrorKind.Network, ex.Kind);
            Assert.Contains($"NOBODY@127.0.0.1:{port}", ex.Message);
        }

        [OracleFact("storescp", "pydicom")]
        public void Store_to_storescp_with_a_4096_byte_pdu_fragments_the_data_set_and_it_arrives_intact()
        {
            Oracles.Require("storescp", "pydicom");
            var dir = TestSupport.NewTempDir("cxas-dimse");
            // 256 x 256 x 16 bits: 128 KiB of pixel data, more than 30 fragments at 4096 bytes per PDU
            var (path, o) = DimseFixtures.Radiograph(dir, 7, rows: 256, cols: 256);
            using var scp = PeerProcess.StoreScp("STORESCP", "-pdu", "4096");
            var outcome = new DimseClient(DimseFixtures.Peer(scp.Port, "STORESCP")).Store(path, File.ReadAllBytes(path));
            Assert.True(outcome.Stored, outcome.Describe());
            Assert.Equal(0, outcome.Status);
            var received = Directory.GetFiles(Path.Combine(scp.Folder, "in"));
            Assert.Single(received);
            Assert.Equal("same", DimseFixtures.PydicomCompare(path, received[0]));
        }

        [OracleFact("dcmqrscp", "findscu", "pydicom")]
        public void Store_find_at_three_levels_and_get_against_dcmqrscp()
        {
            Oracles.Require("dcmqrscp", "findscu", "pydicom");
            var dir = TestSupport.NewTempDir("cxas-dimse");
            string study = Cxas.Dicom.DicomUid.New(), seriesA = Cxas.Dicom.DicomUid.New(), seriesB = Cxas.Dicom.DicomUid.New();
            var a1 = DimseFixtures.Radiograph(dir, 1, study, seriesA);
            var a2 = DimseFixtures.Radiograph(dir, 2, study, seriesA);
            var b1 = DimseFixtures.Radiograph(dir, 3, study, seriesB);
            var other = DimseFixtures.Radiograph(dir, 4); // another study, another patient id below
            using var qr = PeerProcess.QrScp("QRSCP");
            var client = new DimseClient(DimseFixtures.Peer(qr.Port, "QRSCP"));
            foreach (var f in new[] { a1, a2, b1, other })
                Assert.True(client.Store(f.Path, File.ReadAllBytes(f.Path)).Stored);

            // findscu, independently: dcmqrscp holds the two instances of series A
            var find = TestSupport.Run("findscu", new[] { "-v", "-S", "-aet", "FINDSCU", "-aec", "QRSCP", "-k", "QueryRetrieveLevel=IMAGE",
                "-k", $"StudyInstanceUID={study}", "-k", $"SeriesInstanceUID={seriesA}", "-k", "SOPInstanceUID", "127.0.0.1", qr.Port.ToString() });
            foreach (var f in new[] { a1, a2 }) Assert.True((find.Out + find.Err).Contains(f.Options.Instance), find.Out + find.Err);

            // ours: study -> series -> image
            var found = client.Search(new DicomWebQuery { StudyInstanceUid = study }).ToList();
            Assert.Equal(new[] { a1.Options.Instance, a2.Options.Instance, b1.Options.Instance }.OrderBy(x => x), found.Select(i => i.SopInstanceUid).OrderBy(x => x));
            Assert.All(found, i => Assert.Equal(study, i.StudyInstanceUid));
            Assert.Equal(seriesB, found.Single(i => i.SopInstanceUid == b1.Options.Instance).SeriesInstanceUid);
            Assert.All(found, i => Assert.Equal("CR", i.Modality));
            Assert.All(found, i => Assert.StartsWith($"dicom://QRSCP@127.0.0.1:{qr.Port}/studies/{study}/series/", i.Uri));

            Assert.Equal(2, client.Search(new DicomWebQuery { StudyInstanceUid = study, SeriesInstanceUid = seriesA }).Count());
            Assert.Single(client.Search(new DicomWebQuery { StudyInstanceUid = study, Limit = 1 }));
            Assert.Empty(client.Search(new DicomWebQuery { StudyInstanceUid = study, Modality = new[] { "MR" } }));

            Assert.True(client.Exists(study, seriesB, b1.Options.Instance));
            Assert.False(client.Exists(study, seriesB, Cxas.Dicom.DicomUid.New()));

            // C-GET returns the same pixels, and the instance's own retrieval decodes it
            var got = client.Get(study, seriesA, a2.Options.Instance);
            var gotPath = Path.Combine(dir, "got.dcm");
            File.WriteAllBytes(gotPath, got);
            Assert.Equal("same", DimseFixtures.PydicomCompare(a2.Path, gotPath));
            var image = found.Single(i => i.SopInstanceUid == a1.Options.Instance).ToInput().Load!(ImageReaderConfiguration.Default);
            Assert.Equal(96, image.Height);
            Assert.Equal(128, image.Width);
        }

        [OracleFact("dcmqrscp", "pydicom")]
        public void Move_to_our_storage_SCP_delivers_the_instance_and_found_instances_can_be_retrieved_by_move()
        {
            Oracles.Require("dcmqrscp", "pydicom");
            var dir = TestSupport.NewTempDir("cxas-dimse");
            var (path, o) = DimseFixtures.Radiograph(dir, 21);
            using var scp = DimseFixtures.Scp(s => s.AeTitle = "CXASMOVE");
            using var qr = PeerProcess.QrScp("QRSCP", ("CXASMOVE", scp.Port));
            var client = new DimseClient(DimseFixtures.Peer(qr.Port, "QRSCP"));
            Assert.True(client.Store(path, File.ReadAllBytes(path)).Stored);

            Assert.Equal(1, client.Move("CXASMOVE", o.Study, o.Series, o.Instance));
            var moved = scp.WaitFor(o.Instance, TimeSpan.FromSeconds(30));
            Assert.Equal("same", DimseFixtures.PydicomCompare(path, moved));

            client.RetrieveByMove(scp, "CXASMOVE");
            var found = Assert.Single(client.Search(new DicomWebQuery { StudyInstanceUid = o.Study }));
            var image = found.ToInput().Load!(ImageReaderConfiguration.Default);
            Assert.Equal(96, image.Height);
            var ex = Assert.Throws<CxasException>(() => client.Move("NOWHERE", o.Study, o.Series, o.Instance));
            Assert.Contains("did not move", ex.Message);
        }

        [Fact]
        public async System.Threading.Tasks.Task A_kept_C_GET_association_the_peer_has_dropped_is_opened_again()
        {
            // A C-GET SCP on our own association layer that serves one C-GET per association and then aborts it, as a
            // PACS dropping an idle association would: the client's second C-GET finds its kept association gone.
            var dir = TestSupport.NewTempDir("cxas-dimse");
            var (path, o) = DimseFixtures.Radiograph(dir, 33);
            var (sopClass, sop, ts, dataSet) = DimseData.FromPart10(path, File.ReadAllBytes(path));
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            int associations = 0;
            var server = System.Threading.Tasks.Task.Run(() =>
            {
                for (int k = 0; k < 2; k++)
                {
                    using var tcp = listener.AcceptTcpClient();
                    associations++;
                    var a = DimseAssociation.Receive(tcp, new DimseOptions(), rq =>
                    {
                        var ac = new AssociateMessage { CalledAe = rq.CalledAe, CallingAe = rq.CallingAe, MaxPduLength = 16384 };
                        foreach (var pc in rq.Contexts) ac.Contexts.Add(new PresentationContext { Id = pc.Id, TransferSyntaxes = { pc.TransferSyntaxes[0] } });
                        return (ac, null);
                    })!;
                    var get = a.ReceiveMessage()!;
                    var store = a.FindContext(sopClass, ts)!;
                    a.Send(store.Id, new DimseCommand().Set(DimseCommand.AffectedSopClassUid, sopClass).Set(DimseCommand.Field, CommandField.CStoreRq)
                        .Set(DimseCommand.MessageId, 1).Set(DimseCommand.Priority, 0).Set(DimseCommand.AffectedSopInstanceUid, sop), dataSet);
                    Assert.Equal(0, a.ReceiveMessage()!.Command.StatusValue);
                    a.Send(get.ContextId, DimseCommand.Response(get.Command, CommandField.CGetRsp, 0).Set(DimseCommand.Completed, 1), null);
                    a.Abort();
                }
            });
            var client = new DimseClient(DimseFixtures.Peer(((System.Net.IPEndPoint)listener.LocalEndpoint).Port, "GETSCP"));
            try
            {
                for (int i = 0; i < 2; i++)
                {
                    var bytes = client.Get(o.Study, o.Series, o.Instance);
                    Assert.Equal(o.Instance, DimseData.FromPart10("got", bytes).SopInstance);
                }
                await server.WaitAsync(TimeSpan.FromSeconds(30));
                Assert.Equal(2, associations);
            }
            finally { listener.Stop(); }
        }

        [OracleFact("dcmqrscp")]
        public void A_called_AE_title_the_peer_does_not_know_is_rejected_with_the_reason()
        {
            Oracles.Require("dcmqrscp");
            using var qr = PeerProcess.QrScp("QRSCP");
            var ex = Assert.Throws<CxasException>(() => new DimseClient(DimseFixtures.Peer(qr.Port, "SOMEONE")).Echo());
            Assert.Contains("rejected the association", ex.Message);
            Assert.Contains("called AE title not recognised", ex.Message);
        }

        [OracleFact("storescp", "openssl")]
        public void Echo_and_store_over_DICOM_TLS_verify_the_node_certificate()
        {
            Oracles.Require("storescp", "openssl");
            var dir = TestSupport.NewTempDir("cxas-tls");
            string key = Path.Combine(dir, "key.pem"), cert = Path.Combine(dir, "cert.pem");
            var made = TestSupport.Run("openssl", new[] { "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1" });
            Assert.True(made.Exit == 0, made.Err);
            using var scp = PeerProcess.StoreScp("TLSSCP", "+tls", key, cert, "-pw", "-ic");
            var peer = DimseFixtures.Peer(scp.Port, "TLSSCP");

            // Plain TCP to a TLS port fails; TLS with a self-signed certificate is refused as untrusted; accepted when told to skip the check.
            Assert.Throws<CxasException>(() => new DimseClient(peer).Echo());
            peer.UseTls = true;
            var untrusted = Assert.Throws<CxasException>(() => new DimseClient(peer).Echo());
            Assert.Equal(CxasErrorKind.Unauthorized, untrusted.Kind);
            Assert.Contains("certificate is not trusted", untrusted.Message);
            peer.SkipCertificateCheck = true;
            var client = new DimseClient(peer);
            Assert.True(client.Echo() > TimeSpan.Zero);
            var (path, _) = DimseFixtures.Radiograph(dir, 600);
            Assert.Equal(0, client.Store(path, File.ReadAllBytes(path)).Status);
            Assert.Single(Directory.GetFiles(Path.Combine(scp.Folder, "in")));
            Assert.StartsWith("dicoms://TLSSCP@", peer.ToString());
        }

        [Fact]
        public void AE_titles_are_checked_before_connecting()
        {
            Assert.Throws<CxasException>(() => new DimseClient(new DimsePeer { CalledAe = "THIS-AE-TITLE-IS-TOO-LONG" }));
            Assert.Throws<CxasException>(() => new DimseClient(new DimsePeer { CallingAe = "A\\B" }));
            Assert.Throws<CxasException>(() => new DimseClient(new DimsePeer { CallingAe = "   " }));
        }
    }
}
