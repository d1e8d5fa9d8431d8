using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Cxas.Dicom;

namespace Cxas.Dimse
{
    /// <summary>The settings of a storage SCP. Options a caller fills, so settable (the instances received are immutable).</summary>
    public sealed class StorageScpOptions
    {
        /// <summary>The TCP port (0: any free one, see <see cref="DimseStorageScp.Port"/>).</summary>
        public int Port { get; set; } = 11112;
        /// <summary>The address to listen on (default all; tests use loopback).</summary>
        public IPAddress Address { get; set; } = IPAddress.Any;
        /// <summary>Our AE title: associations calling another one are rejected.</summary>
        public string AeTitle { get; set; } = "CXAS";
        /// <summary>Calling AE titles allowed (null or empty: any).</summary>
        public IReadOnlyCollection<string>? AllowedCallingAe { get; set; }
        /// <summary>Peer addresses allowed (null or empty: any); other connections are closed unanswered.</summary>
        public IReadOnlyCollection<IPAddress>? AllowedHosts { get; set; }
        /// <summary>Where received instances are written before they are acknowledged.</summary>
        public string SpoolDirectory { get; set; } = "";
        /// <summary>
        /// The spool is this SCP's scratch space (a C-MOVE destination whose instances are read as they arrive), not a
        /// queue that outlives it: the folder must not exist yet, and <see cref="DimseStorageScp.Stop"/> deletes the files
        /// this SCP wrote that are still there (instances never asked for, a retrieval cut short), then the folders it
        /// made if they are empty. Received images are patient data: a temporary copy must not stay behind.
        /// </summary>
        public bool TemporarySpool { get; set; }
        /// <summary>Associations served at once; more are rejected (transient, local limit exceeded).</summary>
        public int MaxAssociations { get; set; } = 8;
        public TimeSpan ArtimTimeout { get; set; } = TimeSpan.FromSeconds(30);
        public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(120);
        public long MaxDataSetBytes { get; set; } = 512L * 1024 * 1024;
        /// <summary>Diagnostics (rejections, aborts, protocol errors), called from the associations' threads.</summary>
        public Action<string>? Log { get; set; }
    }

    /// <summary>One instance received and spooled.</summary>
    public sealed class ReceivedInstance
    {
        public string Path { get; internal init; } = "";
        public string SopClassUid { get; internal init; } = "";
        public string SopInstanceUid { get; internal init; } = "";
        public string TransferSyntax { get; internal init; } = "";
        public string CallingAe { get; internal init; } = "";
        public string? Peer { get; internal init; }
    }

    /// <summary>
    /// A storage SCP (PS3.4 B) and verification SCP. Pipeline per connection: host allow list, then A-ASSOCIATE-RQ within
    /// ARTIM (called AE must be ours, calling AE on the allow list, at most <see cref="StorageScpOptions.MaxAssociations"/>
    /// at once), presentation contexts accepted for verification and every storage SOP class in a transfer syntax the
    /// DICOM layer decodes; then C-ECHO and C-STORE until release, abort or idle timeout. Each C-STORE data set is
    /// parsed (it must be a readable data set holding the SOP instance the command names), written to the spool as a
    /// Part 10 file (temporary file, flushed to disk, renamed), and only then acknowledged with success; it is then
    /// queued in <see cref="Received"/>. A restart lists what the spool holds and was not marked processed (<see cref="Pending"/>).
    /// </summary>
    public sealed class DimseStorageScp : IDisposable
    {
        private readonly StorageScpOptions _options;
        private readonly TcpListener _listener;
        private readonly ConcurrentDictionary<TcpClient, byte> _open = new ConcurrentDictionary<TcpClient, byte>();
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private Task? _acceptLoop;
        private int _active;

        public DimseStorageScp(StorageScpOptions options)
        {
            _options = options;
            options.AeTitle = PduIo.CheckAeTitle(options.AeTitle, "The AE title");
            if (string.IsNullOrEmpty(options.SpoolDirectory)) throw new CxasException(CxasErrorKind.InvalidArgument, "A storage SCP needs a spool folder.");
            if (options.TemporarySpool && (Directory.Exists(options.SpoolDirectory) || File.Exists(options.SpoolDirectory)))
                throw new CxasException(CxasErrorKind.InvalidArgument,
                    $"A temporary spool must be a new folder, and '{options.SpoolDirectory}' exists: what is in it was not written by this SCP.", options.SpoolDirectory);
            Directory.CreateDirectory(options.SpoolDirectory);
            Directory.CreateDirectory(ProcessedDirectory);
            _listener = new TcpListener(options.Address, options.Port);
        }

        /// <summary>Instances as they are acknowledged, in order of completion.</summary>
        public BlockingCollection<ReceivedInstance> Received { get; } = new BlockingCollection<ReceivedInstance>();

        /// <summary>The port listened on (the one chosen when the options said 0).</summary>
        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        /// <summary>Associations aborted because the peer broke the protocol, timed out or overran a bound (for diagnostics and tests).</summary>
        public int Aborted => _aborted;
        private int _aborted;

        /// <summary>Associations that ended in an exception no peer behaviour should cause (a defect; expected to stay 0).</summary>
        public int Faults => _faults;
        private int _faults;

        /// <summary>The spool folder.</summary>
        public string SpoolDirectory => _options.SpoolDirectory;

        private string ProcessedDirectory => System.IO.Path.Combine(_options.SpoolDirectory, "processed");

        public void Start()
        {
            try { _listener.Start(); }
            catch (SocketException ex)
            {
                throw new CxasException(CxasErrorKind.Network, $"Cannot listen on port {_options.Port}: {ex.Message}", null, ex);
            }
            _acceptLoop = Task.Run(AcceptLoop);
        }

        private async Task AcceptLoop()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient tcp;
                try { tcp = await _listener.AcceptTcpClientAsync().ConfigureAwait(false); }
                catch (Exception ex) when (ex is ObjectDisposedException || ex is SocketException || ex is InvalidOperationException) { return; }
                var remote = (tcp.Client.RemoteEndPoint as IPEndPoint)?.Address;
                var hosts = _options.AllowedHosts;
                if (hosts != null && hosts.Count > 0 && (remote == null || !hosts.Any(h => h.Equals(remote) || remote.IsIPv4MappedToIPv6 && h.Equals(remote.MapToIPv4()))))
                {
                    _options.Log?.Invoke($"Connection from {remote} closed: the host is not on the allow list.");
                    tcp.Dispose();
                    continue;
                }
                tcp.NoDelay = true;
                _open[tcp] = 0;
                _ = Task.Factory.StartNew(() => Serve(tcp, remote?.ToString()), TaskCreationOptions.LongRunning);
            }
        }

        private void Serve(TcpClient tcp, string? remote)
        {
            bool counted = false;
            try
            {
                var dimse = new DimseOptions { ArtimTimeout = _options.ArtimTimeout, IdleTimeout = _options.IdleTimeout, MaxDataSetBytes = _options.MaxDataSetBytes };
                using var association = DimseAssociation.Receive(tcp, dimse, rq =>
                {
                    var verdict = Decide(rq);
                    if (verdict.Ac != null) counted = Interlocked.Increment(ref _active) <= _options.MaxAssociations || Over();
                    return counted || verdict.Ac == null ? verdict : (null, new byte[] { 2, 3, 2 });
                });
                if (association == null) return;
                while (!_stop.IsCancellationRequested)
                {
                    var m = association.ReceiveMessage();
                    if (m == null) return;
                    Answer(association, m, remote);
                }
            }
            catch (Exception ex) when (ex is CxasException || ex is IOException || ex is ObjectDisposedException || ex is InvalidOperationException || ex is SocketException)
            {
                Interlocked.Increment(ref _aborted);
                _options.Log?.Invoke($"Association from {remote} ended: {ex.Message}");
            }
            catch (Exception ex)
            {
                // A defect of ours, not the peer's: counted apart so tests (the mutation harness) can insist on none.
                Interlocked.Increment(ref _faults);
                _options.Log?.Invoke($"Association from {remote} failed unexpectedly: {ex}");
            }
            finally
            {
                if (counted) Interlocked.Decrement(ref _active);
                _open.TryRemove(tcp, out _);
                tcp.Dispose();
            }
        }

        /// <summary>Counts down an association over the limit (so it is not counted) and says it was refused.</summary>
        private bool Over()
        {
            Interlocked.Decrement(ref _active);
            _options.Log?.Invoke($"Association refused: {_options.MaxAssociations} already open.");
            return false;
        }

        private (AssociateMessage? Ac, byte[]? Reject) Decide(AssociateMessage rq)
        {
            if (rq.CalledAe != _options.AeTitle)
            {
                _options.Log?.Invoke($"Association from {rq.CallingAe} rejected: it called '{rq.CalledAe}', not '{_options.AeTitle}'.");
                return (null, new byte[] { 1, 1, 7 });
            }
            var allowed = _options.AllowedCallingAe;
            if (allowed != null && allowed.Count > 0 && !allowed.Contains(rq.CallingAe, StringComparer.Ordinal))
            {
                _options.Log?.Invoke($"Association from '{rq.CallingAe}' rejected: the calling AE title is not on the allow list.");
                return (null, new byte[] { 1, 1, 3 });
            }
            var ac = new AssociateMessage { CalledAe = rq.CalledAe, CallingAe = rq.CallingAe, MaxPduLength = (uint)new DimseOptions().MaxPduLength };
            foreach (var pc in rq.Contexts)
            {
                var answer = new PresentationContext { Id = pc.Id, Result = 3 };
                if (pc.AbstractSyntax == DimseData.Verification || DimseData.IsStorageClass(pc.AbstractSyntax))
                {
                    var ts = DimseData.StorageTransferSyntaxes.FirstOrDefault(pc.TransferSyntaxes.Contains);
                    answer.Result = ts != null ? (byte)0 : (byte)4;
                    if (ts != null) answer.TransferSyntaxes.Add(ts);
                }
                ac.Contexts.Add(answer);
            }
            return (ac, null);
        }

        private void Answer(DimseAssociation association, DimseMessage m, string? remote)
        {
            var pc = association.Context(m.ContextId);
            switch (m.Command.CommandFieldValue)
            {
                case CommandField.CEchoRq:
                    association.Send(m.ContextId, DimseCommand.Response(m.Command, CommandField.CEchoRsp, 0), null);
                    return;
                case CommandField.CStoreRq when m.DataSet != null && pc.AbstractSyntax != DimseData.Verification:
                    var (status, comment, received) = Spool(association, m, pc, remote);
                    var rsp = DimseCommand.Response(m.Command, CommandField.CStoreRsp, status);
                    if (comment != null) rsp.Set(DimseCommand.ErrorComment, comment.Length > 64 ? comment.Substring(0, 64) : comment);
                    association.Send(m.ContextId, rsp, null);
                    if (received != null) Received.Add(received);
                    return;
                default:
                    association.Send(m.ContextId, DimseCommand.Response(m.Command, (ushort)(m.Command.CommandFieldValue | 0x8000), 0x0211), null);
                    return;
            }
        }

        /// <summary>Checks, writes and renames one received instance; the status to answer with.</summary>
        private (ushort Status, string? Comment, ReceivedInstance? Received) Spool(DimseAssociation association, DimseMessage m, PresentationContext pc, string? remote)
        {
            var sop = m.Command.GetString(DimseCommand.AffectedSopInstanceUid);
            var sopClass = m.Command.GetString(DimseCommand.AffectedSopClassUid);
            if (sop == null || sopClass == null || sop.Length > 64 || sop.Any(c => !(c >= '0' && c <= '9' || c == '.')))
                return (0xA900, "the command lacks a valid affected SOP instance UID", null);
            if (sopClass != pc.AbstractSyntax) return (0xA900, "the SOP class differs from the presentation context's", null);
            byte[] file = DimseData.ToPart10(m.DataSet!, sopClass, sop, pc.TransferSyntax);
            try
            {
                var parsed = DicomParser.Parse($"{association.CallingAe}:{sop}", file);
                var inside = parsed.Dataset.GetString(Tags.SopInstanceUid);
                if (inside != sop) return (0xA900, "the data set holds another SOP instance UID", null);
            }
            catch (CxasException ex)
            {
                return (0xC000, ex.Message, null);
            }
            var target = System.IO.Path.Combine(_options.SpoolDirectory, sop + ".dcm");
            var temp = System.IO.Path.Combine(_options.SpoolDirectory, $".{sop}.{Guid.NewGuid():N}.part");
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                {
                    stream.Write(file, 0, file.Length);
                    stream.Flush(flushToDisk: true);
                }
                if (File.Exists(target)) File.Replace(temp, target, null);
                else File.Move(temp, target);
                if (_options.TemporarySpool) _written[target] = 0;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                try { File.Delete(temp); } catch (IOException) { }
                _options.Log?.Invoke($"Cannot spool {sop}: {ex.Message}");
                return (0xA700, "cannot write the instance", null);
            }
            return (0, null, new ReceivedInstance
            {
                Path = target, SopClassUid = sopClass, SopInstanceUid = sop, TransferSyntax = pc.TransferSyntax, CallingAe = association.CallingAe, Peer = remote,
            });
        }

        /// <summary>
        /// Waits (bounded) until <paramref name="sopInstance"/> has been received and returns its spool file; other
        /// instances received meanwhile are kept for their own wait. For C-MOVE retrieval, where this SCP is the destination.
        /// </summary>
        public string WaitFor(string sopInstance, TimeSpan timeout, System.Threading.CancellationToken cancel = default)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                lock (_arrived)
                {
                    while (Received.TryTake(out var r)) _arrived[r.SopInstanceUid] = r.Path;
                    if (_arrived.TryGetValue(sopInstance, out var path)) { _arrived.Remove(sopInstance); return path; }
                }
                if (DateTime.UtcNow >= deadline)
                    throw new CxasException(CxasErrorKind.Network, $"{sopInstance} did not arrive at {_options.AeTitle} within {timeout.TotalSeconds:0} s.");
                cancel.WaitHandle.WaitOne(50);
                cancel.ThrowIfCancellationRequested();
            }
        }

        private readonly Dictionary<string, string> _arrived = new Dictionary<string, string>();

        /// <summary>
        /// As <see cref="WaitFor"/>, then reads the spooled instance and deletes its file: the C-MOVE retrieval's step, so
        /// that the spool (and this SCP's list of what it wrote) holds only what is still to be taken, however long the
        /// session.
        /// </summary>
        public byte[] Take(string sopInstance, TimeSpan timeout, System.Threading.CancellationToken cancel = default)
        {
            var path = WaitFor(sopInstance, timeout, cancel);
            var bytes = File.ReadAllBytes(path);
            File.Delete(path);
            _written.TryRemove(path, out _);
            return bytes;
        }

        /// <summary>Spooled instances not yet marked processed (oldest first): what a restart picks up. Leftover temporary files are removed.</summary>
        public IReadOnlyList<string> Pending()
        {
            foreach (var part in Directory.GetFiles(_options.SpoolDirectory, ".*.part"))
                try { File.Delete(part); } catch (IOException) { }
            return Directory.GetFiles(_options.SpoolDirectory, "*.dcm").OrderBy(File.GetLastWriteTimeUtc).ThenBy(p => p, StringComparer.Ordinal).ToList();
        }

        /// <summary>
        /// A spooled (or processed) file as a <see cref="DicomWeb.DicomInstance"/>: the same flat object DICOMweb and C-FIND
        /// searches emit, its URI the file, retrieved by reading the file. An unreadable file is a <see cref="CxasException"/>.
        /// </summary>
        public static DicomWeb.DicomInstance Describe(string path)
        {
            var file = DicomParser.ReadFile(path);
            var d = file.Dataset;
            string Required(uint tag, string what) => d.GetString(tag)
                ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' has no {what}.", path);
            return new DicomWeb.DicomInstance
            {
                Uri = path,
                StudyInstanceUid = Required(Tags.StudyInstanceUid, "Study Instance UID"),
                SeriesInstanceUid = Required(Tags.SeriesInstanceUid, "Series Instance UID"),
                SopInstanceUid = Required(Tags.SopInstanceUid, "SOP Instance UID"),
                SopClassUid = d.GetString(Tags.SopClassUid), PatientId = d.GetString(Tags.PatientId), Modality = d.GetString(Tags.Modality),
                StudyDate = d.GetString(Tags.StudyDate), SeriesDescription = d.GetString(Tags.SeriesDescription),
                InstanceNumber = (int?)d.GetNumber(Tags.InstanceNumber), Rows = d.GetUShort(0x00280010), Columns = d.GetUShort(0x00280011),
                Retrieve = _ => File.ReadAllBytes(path),
            };
        }

        /// <summary>Moves a spooled instance to processed/ (its work was handed on).</summary>
        public string MarkProcessed(string path)
        {
            var target = System.IO.Path.Combine(ProcessedDirectory, System.IO.Path.GetFileName(path));
            if (File.Exists(target)) File.Replace(path, target, null);
            else File.Move(path, target);
            if (_options.TemporarySpool && _written.TryRemove(path, out _)) _written[target] = 0;
            return target;
        }

        public void Stop()
        {
            if (_stop.IsCancellationRequested) return;
            _stop.Cancel();
            _listener.Stop();
            foreach (var tcp in _open.Keys) tcp.Dispose();
            try { _acceptLoop?.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
            Received.CompleteAdding();
            if (_options.TemporarySpool) RemoveTemporarySpool();
        }

        /// <summary>
        /// Paths of the instances a temporary spool's SCP wrote and nobody took yet (spooled, or moved to processed/), for
        /// its removal; kept for temporary spools only, so a long-running receiver does not grow a list of every instance.
        /// </summary>
        private readonly ConcurrentDictionary<string, byte> _written = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);

        /// <summary>
        /// Deletes what this SCP wrote and is still there, then processed/ and the spool folder if nothing else is in
        /// them: a file someone else put there is left, with the folders around it, and named in the log.
        /// </summary>
        private void RemoveTemporarySpool()
        {
            foreach (var path in _written.Keys)
                try { File.Delete(path); } catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { _options.Log?.Invoke($"Cannot delete '{path}': {ex.Message}"); }
            _written.Clear();
            foreach (var dir in new[] { ProcessedDirectory, _options.SpoolDirectory })
            {
                if (!Directory.Exists(dir)) continue;
                if (Directory.EnumerateFileSystemEntries(dir).Any())
                {
                    _options.Log?.Invoke($"'{dir}' holds files this SCP did not write; it is left in place.");
                    return;
                }
                try { Directory.Delete(dir); } catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { _options.Log?.Invoke($"Cannot delete '{dir}': {ex.Message}"); }
            }
        }

        public void Dispose() => Stop();
    }
}
