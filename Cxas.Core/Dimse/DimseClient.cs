using System.Diagnostics;
using System.Globalization;
using System.Threading;
using Cxas.Dicom;
using Cxas.DicomWeb;

namespace Cxas.Dimse
{
    /// <summary>Where a DIMSE peer is and who we are to it. Connection parameters a caller fills, so settable.</summary>
    public sealed class DimsePeer
    {
        public string Host { get; set; } = "127.0.0.1";
        public int Port { get; set; } = 104;
        public string CalledAe { get; set; } = "ANY-SCP";
        public string CallingAe { get; set; } = "CXAS";
        public TimeSpan ArtimTimeout { get; set; } = TimeSpan.FromSeconds(30);
        public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(120);
        /// <summary>DICOM TLS (PS3.15 B.1): the association runs over TLS, the node's certificate checked against the system's trust store and the host name.</summary>
        public bool UseTls { get; set; }
        /// <summary>With <see cref="UseTls"/>: accept any certificate (test nodes only).</summary>
        public bool SkipCertificateCheck { get; set; }

        /// <summary>A name for messages and instance URIs: dicom://CALLED@host:port (dicoms:// over TLS).</summary>
        public override string ToString() => $"{(UseTls ? "dicoms" : "dicom")}://{CalledAe}@{Host}:{Port}";
    }

    /// <summary>The outcome of a C-STORE: the final status, and the peer's error comment if any.</summary>
    public sealed class DimseStoreOutcome
    {
        public ushort Status { get; internal init; }
        public string? ErrorComment { get; internal init; }
        public bool Stored => DimseCommand.IsSuccessOrWarning(Status);
        public string Describe() => DimseCommand.Describe(Status) + (ErrorComment != null ? $": {ErrorComment}" : "");
    }

    /// <summary>
    /// A service class user (PS3.4 annexes A, B, C): each operation opens one association proposing only the presentation
    /// contexts it needs, runs, and releases. C-ECHO with the round-trip time; C-FIND in the Study Root model at study,
    /// series and image level; C-GET of one instance (the SCP sends it back as a C-STORE sub-operation on the same
    /// association, for which storage contexts are proposed with the SCP role); C-STORE of a Part 10 object in its own
    /// transfer syntax, returning the status. Failures are <see cref="CxasException"/>s naming the peer.
    /// </summary>
    public sealed class DimseClient
    {
        private readonly DimsePeer _peer;
        private readonly DimseOptions _options;

        public DimseClient(DimsePeer peer)
        {
            _peer = peer;
            peer.CalledAe = PduIo.CheckAeTitle(peer.CalledAe, "The called AE title");
            peer.CallingAe = PduIo.CheckAeTitle(peer.CallingAe, "The calling AE title");
            _options = new DimseOptions { ArtimTimeout = peer.ArtimTimeout, IdleTimeout = peer.IdleTimeout, UseTls = peer.UseTls, SkipCertificateCheck = peer.SkipCertificateCheck };
        }

        public DimsePeer Peer => _peer;

        private DimseAssociation Open(IEnumerable<(string Abstract, string[] Syntaxes, bool ScpRole)> contexts, CancellationToken cancel)
        {
            var rq = new AssociateMessage { CalledAe = _peer.CalledAe, CallingAe = _peer.CallingAe, MaxPduLength = (uint)_options.MaxPduLength };
            byte id = 1;
            foreach (var (abstractSyntax, syntaxes, scpRole) in contexts)
            {
                rq.Contexts.Add(new PresentationContext { Id = id, AbstractSyntax = abstractSyntax, TransferSyntaxes = syntaxes.ToList() });
                if (scpRole) rq.ScpRoles.Add(abstractSyntax);
                id += 2;
            }
            return DimseAssociation.Connect(_peer.Host, _peer.Port, rq, _options, cancel);
        }

        private PresentationContext Require(DimseAssociation a, string abstractSyntax, string what)
        {
            var pc = a.FindContext(abstractSyntax);
            if (pc != null) return pc;
            a.Release();
            throw new CxasException(CxasErrorKind.NotSupported, $"{_peer} accepted the association but not {what} ({abstractSyntax}).");
        }

        /// <summary>C-ECHO: the round-trip time of the echo itself (association set-up excluded).</summary>
        public TimeSpan Echo(CancellationToken cancel = default)
        {
            using var a = Open(new[] { (DimseData.Verification, DimseData.NativeLittle, false) }, cancel);
            var pc = Require(a, DimseData.Verification, "verification");
            var watch = Stopwatch.StartNew();
            var rq = new DimseCommand().Set(DimseCommand.AffectedSopClassUid, DimseData.Verification)
                .Set(DimseCommand.Field, CommandField.CEchoRq).Set(DimseCommand.MessageId, a.NextMessageId());
            a.Send(pc.Id, rq, null);
            var rsp = ExpectResponse(a, CommandField.CEchoRsp);
            watch.Stop();
            a.Release();
            if (rsp.Command.StatusValue != 0)
                throw new CxasException(CxasErrorKind.Network, $"{_peer} answered C-ECHO with status {DimseCommand.Describe(rsp.Command.StatusValue)}.");
            return watch.Elapsed;
        }

        private DimseMessage ExpectResponse(DimseAssociation a, ushort field)
        {
            var m = a.ReceiveMessage() ?? throw new CxasException(CxasErrorKind.Network, $"{_peer} released the association instead of answering.");
            if (m.Command.CommandFieldValue != field)
            {
                a.Abort(2);
                throw new CxasException(CxasErrorKind.InvalidData, $"{_peer} answered with command 0x{m.Command.CommandFieldValue:X4}, not 0x{field:X4}.");
            }
            return m;
        }

        // ---- C-FIND ----

        private static readonly (string Tag, string Vr)[] StudyKeys = { ("00100020", "LO"), ("00080020", "DA"), ("0020000D", "UI") };
        private static readonly (string Tag, string Vr)[] SeriesKeys = { ("0020000D", "UI"), ("0020000E", "UI"), ("00080060", "CS"), ("0008103E", "LO") };
        private static readonly (string Tag, string Vr)[] ImageKeys =
            { ("0020000D", "UI"), ("0020000E", "UI"), ("00080018", "UI"), ("00080016", "UI"), ("00200013", "IS"), ("00280010", "US"), ("00280011", "US") };

        /// <summary>
        /// Instances matching <paramref name="query"/>: a study-level C-FIND (patient, date, study), then per study a
        /// series-level one (modality, series), then per series an image-level one, all on one association. Rows and
        /// Columns are asked for but optional for the SCP.
        /// </summary>
        public IEnumerable<DicomInstance> Search(DicomWebQuery query, CancellationToken cancel = default)
        {
            using var a = Open(new[] { (DimseData.StudyRootFind, DimseData.NativeLittle, false) }, cancel);
            var pc = Require(a, DimseData.StudyRootFind, "Study Root C-FIND");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            int returned = 0;
            var studyKeys = Keys("STUDY", StudyKeys, ("00100020", query.PatientId), ("00080020", query.StudyDate), ("0020000D", query.StudyInstanceUid));
            foreach (var study in Find(a, pc, studyKeys, cancel).ToList())
            {
                var studyUid = study.GetString(Tags.StudyInstanceUid);
                if (studyUid == null) continue;
                var modalities = query.Modality == null || query.Modality.Count == 0 ? new string?[] { null } : query.Modality.Cast<string?>().ToArray();
                foreach (var modality in modalities)
                foreach (var series in Find(a, pc, Keys("SERIES", SeriesKeys, ("0020000D", studyUid), ("0020000E", query.SeriesInstanceUid), ("00080060", modality)), cancel).ToList())
                {
                    var seriesUid = series.GetString(Tags.SeriesInstanceUid);
                    if (seriesUid == null) continue;
                    foreach (var image in Find(a, pc, Keys("IMAGE", ImageKeys, ("0020000D", studyUid), ("0020000E", seriesUid)), cancel).ToList())
                    {
                        var instance = ToInstance(study, series, image, studyUid, seriesUid);
                        if (instance == null || !seen.Add(instance.SopInstanceUid)) continue;
                        if (!query.IncludeNonImage && !instance.IsImage) continue;
                        yield return instance;
                        if (query.Limit > 0 && ++returned >= query.Limit) { a.Release(); yield break; }
                    }
                }
            }
            a.Release();
        }

        /// <summary>Whether the peer holds <paramref name="sopInstance"/> of the given study and series (an image-level C-FIND).</summary>
        public bool Exists(string study, string series, string sopInstance, CancellationToken cancel = default)
        {
            using var a = Open(new[] { (DimseData.StudyRootFind, DimseData.NativeLittle, false) }, cancel);
            bool found = Holds(a, study, series, sopInstance, cancel);
            a.Release();
            return found;
        }

        private bool Holds(DimseAssociation a, string study, string series, string sopInstance, CancellationToken cancel)
        {
            var pc = Require(a, DimseData.StudyRootFind, "Study Root C-FIND");
            var keys = Keys("IMAGE", ImageKeys.Take(3).ToArray(), ("0020000D", study), ("0020000E", series), ("00080018", sopInstance));
            return Find(a, pc, keys, cancel).Any(d => d.GetString(Tags.SopInstanceUid) == sopInstance);
        }

        private static List<(string, string, string)> Keys(string level, (string Tag, string Vr)[] returned, params (string Tag, string? Value)[] matching)
        {
            var keys = new List<(string, string, string)> { (DimseData.QueryRetrieveLevel, "CS", level) };
            foreach (var (tag, vr) in returned)
                keys.Add((tag, vr, matching.FirstOrDefault(m => m.Tag == tag).Value ?? ""));
            return keys;
        }

        private List<DicomDataset> Find(DimseAssociation a, PresentationContext pc, List<(string, string, string)> keys, CancellationToken cancel)
        {
            var rq = new DimseCommand().Set(DimseCommand.AffectedSopClassUid, pc.AbstractSyntax).Set(DimseCommand.Field, CommandField.CFindRq)
                .Set(DimseCommand.MessageId, a.NextMessageId()).Set(DimseCommand.Priority, 0);
            a.Send(pc.Id, rq, DimseData.Identifier(keys, pc.TransferSyntax != TransferSyntaxes.ImplicitLittle));
            var answers = new List<DicomDataset>();
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                var m = ExpectResponse(a, CommandField.CFindRsp);
                var status = m.Command.StatusValue;
                if (DimseCommand.IsPending(status))
                {
                    if (m.DataSet != null) answers.Add(DimseData.Parse(m.DataSet, pc.TransferSyntax, _peer.ToString()));
                    continue;
                }
                if (status != 0)
                {
                    a.Abort();
                    throw new CxasException(CxasErrorKind.Network, $"{_peer} failed a C-FIND: status {DimseCommand.Describe(status)}" +
                        (m.Command.GetString(DimseCommand.ErrorComment) is string c ? $" ({c})." : "."));
                }
                return answers;
            }
        }

        private DicomInstance? ToInstance(DicomDataset study, DicomDataset series, DicomDataset image, string studyUid, string seriesUid)
        {
            var sop = image.GetString(Tags.SopInstanceUid);
            if (sop == null) return null;
            return new DicomInstance
            {
                Uri = $"{_peer}/studies/{studyUid}/series/{seriesUid}/instances/{sop}",
                StudyInstanceUid = studyUid, SeriesInstanceUid = seriesUid, SopInstanceUid = sop,
                SopClassUid = image.GetString(Tags.SopClassUid),
                PatientId = study.GetString(Tags.PatientId),
                StudyDate = study.GetString(Tags.StudyDate),
                Modality = series.GetString(Tags.Modality),
                SeriesDescription = series.GetString(Tags.SeriesDescription),
                InstanceNumber = (int?)image.GetNumber(Tags.InstanceNumber),
                Rows = image.GetUShort(0x00280010),
                Columns = image.GetUShort(0x00280011),
                Retrieve = cancel => Retrieve(studyUid, seriesUid, sop, cancel),
            };
        }

        // ---- C-GET ----

        /// <summary>
        /// C-GET of one instance: the Part 10 bytes the SCP sent back as a C-STORE sub-operation. The instance must be the
        /// one asked for; a final status other than success is an error. The association is kept for the next C-GET of
        /// this client (2 s), and opened again if the peer closed it meanwhile.
        /// </summary>
        public byte[] Get(string study, string series, string sopInstance, CancellationToken cancel = default)
        {
            lock (_getLock)
            {
                _getCloser?.Dispose();
                bool reused = _get != null && _get.IsOpen;
                try
                {
                    if (!reused) _get = OpenGet(cancel);
                    try { return GetOn(_get!, study, series, sopInstance, cancel); }
                    catch (Exception ex) when (reused && (ex is IOException || ex is CxasException cx && cx.Kind == CxasErrorKind.Network))
                    {
                        // The peer closed the association kept from the last retrieval: once more on a new one.
                        _get!.Abort();
                        _get = OpenGet(cancel);
                        return GetOn(_get, study, series, sopInstance, cancel);
                    }
                }
                catch (Exception ex) when (!(ex is CxasException cx && cx.Kind == CxasErrorKind.NotFound))
                {
                    _get?.Abort(); // left mid-operation (cancelled, broken): never reused
                    throw;
                }
                finally
                {
                    // Kept for the next retrieval (instances are retrieved one after another, each while the previous
                    // one is segmented); released once idle for KeepGet.
                    _getCloser = new Timer(_ => { lock (_getLock) { _get?.Release(); _get = null; } }, null, KeepGet, System.Threading.Timeout.InfiniteTimeSpan);
                }
            }
        }

        private static readonly TimeSpan KeepGet = TimeSpan.FromSeconds(2);
        private readonly object _getLock = new object();
        private DimseAssociation? _get;
        private Timer? _getCloser;

        private DimseAssociation OpenGet(CancellationToken cancel)
        {
            var contexts = new List<(string, string[], bool)> { (DimseData.StudyRootGet, DimseData.NativeLittle, false) };
            foreach (var sopClass in DimseData.ImageStorageClasses)
                foreach (var group in DimseData.StorageSyntaxGroups()) contexts.Add((sopClass, group, true));
            var a = Open(contexts, cancel);
            Require(a, DimseData.StudyRootGet, "Study Root C-GET");
            return a;
        }

        private byte[] GetOn(DimseAssociation a, string study, string series, string sopInstance, CancellationToken cancel)
        {
            var pc = a.FindContext(DimseData.StudyRootGet)!;
            var keys = Keys("IMAGE", ImageKeys.Take(3).ToArray(), ("0020000D", study), ("0020000E", series), ("00080018", sopInstance));
            var rq = new DimseCommand().Set(DimseCommand.AffectedSopClassUid, pc.AbstractSyntax).Set(DimseCommand.Field, CommandField.CGetRq)
                .Set(DimseCommand.MessageId, a.NextMessageId()).Set(DimseCommand.Priority, 0);
            a.Send(pc.Id, rq, DimseData.Identifier(keys, pc.TransferSyntax != TransferSyntaxes.ImplicitLittle));
            byte[]? received = null;
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                var m = a.ReceiveMessage() ?? throw new CxasException(CxasErrorKind.Network, $"{_peer} released the association during C-GET.");
                if (m.Command.CommandFieldValue == CommandField.CStoreRq && m.DataSet != null)
                {
                    var storeContext = a.Context(m.ContextId);
                    var sop = m.Command.GetString(DimseCommand.AffectedSopInstanceUid) ?? "";
                    bool wanted = sop == sopInstance;
                    if (wanted) received = DimseData.ToPart10(m.DataSet, storeContext.AbstractSyntax, sop, storeContext.TransferSyntax);
                    a.Send(m.ContextId, DimseCommand.Response(m.Command, CommandField.CStoreRsp, wanted ? (ushort)0 : (ushort)0xA900), null);
                    continue;
                }
                if (m.Command.CommandFieldValue != CommandField.CGetRsp)
                {
                    a.Abort(2);
                    throw new CxasException(CxasErrorKind.InvalidData, $"{_peer} sent command 0x{m.Command.CommandFieldValue:X4} during C-GET.");
                }
                var status = m.Command.StatusValue;
                if (DimseCommand.IsPending(status)) continue;
                if (received == null || !DimseCommand.IsSuccessOrWarning(status))
                    throw new CxasException(CxasErrorKind.NotFound, $"{_peer} did not return {sopInstance} by C-GET: status {DimseCommand.Describe(status)}" +
                        (m.Command.GetString(DimseCommand.ErrorComment) is string c ? $" ({c})." : "."), $"{_peer}/instances/{sopInstance}");
                return received;
            }
        }

        // ---- C-MOVE ----

        /// <summary>
        /// C-MOVE of one instance to <paramref name="destinationAe"/> (an AE the peer knows, e.g. Cxas' own storage SCP):
        /// the number of sub-operations completed. A final status other than success or warning is an error.
        /// </summary>
        public int Move(string destinationAe, string study, string series, string sopInstance, CancellationToken cancel = default)
        {
            destinationAe = PduIo.CheckAeTitle(destinationAe, "The move destination");
            using var a = Open(new[] { (DimseData.StudyRootMove, DimseData.NativeLittle, false) }, cancel);
            var pc = Require(a, DimseData.StudyRootMove, "Study Root C-MOVE");
            var keys = Keys("IMAGE", ImageKeys.Take(3).ToArray(), ("0020000D", study), ("0020000E", series), ("00080018", sopInstance));
            var rq = new DimseCommand().Set(DimseCommand.AffectedSopClassUid, pc.AbstractSyntax).Set(DimseCommand.Field, CommandField.CMoveRq)
                .Set(DimseCommand.MessageId, a.NextMessageId()).Set(DimseCommand.Priority, 0).Set(DimseCommand.MoveDestination, destinationAe);
            a.Send(pc.Id, rq, DimseData.Identifier(keys, pc.TransferSyntax != TransferSyntaxes.ImplicitLittle));
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                var m = ExpectResponse(a, CommandField.CMoveRsp);
                var status = m.Command.StatusValue;
                if (DimseCommand.IsPending(status)) continue;
                a.Release();
                int completed = m.Command.GetUS(DimseCommand.Completed) ?? 0;
                if (!DimseCommand.IsSuccessOrWarning(status) || completed == 0)
                    throw new CxasException(CxasErrorKind.NotFound, $"{_peer} did not move {sopInstance} to {destinationAe}: status {DimseCommand.Describe(status)}, " +
                        $"{completed} completed, {m.Command.GetUS(DimseCommand.Failed) ?? 0} failed" +
                        (m.Command.GetString(DimseCommand.ErrorComment) is string c ? $" ({c})." : "."), $"{_peer}/instances/{sopInstance}");
                return completed;
            }
        }

        /// <summary>
        /// Makes the instances this client finds retrieved by C-MOVE to <paramref name="scp"/> (Cxas' own storage SCP, known
        /// to the peer as <paramref name="destinationAe"/>) instead of C-GET, for PACS that allow only C-MOVE.
        /// </summary>
        public void RetrieveByMove(DimseStorageScp scp, string destinationAe)
        {
            _moveScp = scp;
            _moveDestination = destinationAe;
        }

        private DimseStorageScp? _moveScp;
        private string? _moveDestination;

        private byte[] Retrieve(string study, string series, string sop, CancellationToken cancel)
        {
            if (_moveScp == null) return Get(study, series, sop, cancel);
            Move(_moveDestination!, study, series, sop, cancel);
            return _moveScp.Take(sop, _options.IdleTimeout, cancel);
        }

        // ---- C-STORE ----

        /// <summary>C-STORE of a Part 10 object in its own transfer syntax; the status is returned, not thrown.</summary>
        public DimseStoreOutcome Store(string name, byte[] part10, CancellationToken cancel = default)
        {
            var (sopClass, sop, ts, dataSet) = DimseData.FromPart10(name, part10);
            using var a = Open(new[] { (sopClass, new[] { ts }, false) }, cancel);
            var outcome = StoreOn(a, sopClass, ts, sop, dataSet);
            a.Release();
            return outcome;
        }

        /// <summary>
        /// An image-level C-FIND for the object, then its C-STORE unless the peer holds it (or when <paramref name="force"/>),
        /// on one association: the store's outcome, or null when nothing was sent; <paramref name="existed"/> says what the find found.
        /// </summary>
        public DimseStoreOutcome? StoreUnlessPresent(string name, byte[] part10, string study, string series, bool force, out bool existed, CancellationToken cancel = default)
        {
            var (sopClass, sop, ts, dataSet) = DimseData.FromPart10(name, part10);
            using var a = Open(new[] { (DimseData.StudyRootFind, DimseData.NativeLittle, false), (sopClass, new[] { ts }, false) }, cancel);
            existed = Holds(a, study, series, sop, cancel);
            var outcome = existed && !force ? null : StoreOn(a, sopClass, ts, sop, dataSet);
            a.Release();
            return outcome;
        }

        private DimseStoreOutcome StoreOn(DimseAssociation a, string sopClass, string ts, string sop, byte[] dataSet)
        {
            var pc = Require(a, sopClass, $"storage of this SOP class in {ts}");
            var rq = new DimseCommand().Set(DimseCommand.AffectedSopClassUid, sopClass).Set(DimseCommand.Field, CommandField.CStoreRq)
                .Set(DimseCommand.MessageId, a.NextMessageId()).Set(DimseCommand.Priority, 0).Set(DimseCommand.AffectedSopInstanceUid, sop);
            a.Send(pc.Id, rq, dataSet);
            var rsp = ExpectResponse(a, CommandField.CStoreRsp);
            return new DimseStoreOutcome { Status = rsp.Command.StatusValue, ErrorComment = rsp.Command.GetString(DimseCommand.ErrorComment) };
        }

        internal static string Number(int n) => n.ToString(CultureInfo.InvariantCulture);
    }
}
