using System.Net.Sockets;
using System.Threading;

namespace Cxas.Dimse
{
    /// <summary>Limits and timeouts of one association (both roles).</summary>
    internal sealed class DimseOptions
    {
        /// <summary>The largest P-DATA-TF body we accept, advertised in A-ASSOCIATE (PS3.8 D.1).</summary>
        public int MaxPduLength { get; set; } = 256 * 1024;
        /// <summary>The largest P-DATA-TF body we send when the peer sets no limit.</summary>
        public int MaxSendPduLength { get; set; } = 256 * 1024;
        /// <summary>ARTIM: how long to wait for an A-ASSOCIATE answer or request, a release answer, or a connection.</summary>
        public TimeSpan ArtimTimeout { get; set; } = TimeSpan.FromSeconds(30);
        /// <summary>How long an open association may stay silent before it is aborted.</summary>
        public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(120);
        /// <summary>The largest data set accepted in one message (an endless P-DATA stream is aborted here).</summary>
        public long MaxDataSetBytes { get; set; } = 512L * 1024 * 1024;
        /// <summary>The largest command set accepted (commands are a few hundred bytes).</summary>
        public int MaxCommandBytes { get; set; } = 64 * 1024;
        /// <summary>As requestor: run the association over TLS, checking the node's certificate unless <see cref="SkipCertificateCheck"/>.</summary>
        public bool UseTls { get; set; }
        public bool SkipCertificateCheck { get; set; }
    }

    /// <summary>One DIMSE message: the command, the presentation context it came on, and its data set (null when none).</summary>
    internal sealed class DimseMessage
    {
        public DimseMessage(byte contextId, DimseCommand command, byte[]? dataSet) { ContextId = contextId; Command = command; DataSet = dataSet; }
        public byte ContextId { get; }
        public DimseCommand Command { get; }
        public byte[]? DataSet { get; }
    }

    /// <summary>
    /// An established association over a connected stream (PS3.8 9): messages go out as P-DATA-TF PDUs of one PDV each,
    /// command fragments then data set fragments, none larger than the peer's maximum length; messages come in from PDVs
    /// of any fragmentation, reassembled within the size bounds of <see cref="DimseOptions"/>. Any protocol error of the
    /// peer aborts the association (A-ABORT) and surfaces as a <see cref="CxasException"/>. Silence longer than the idle
    /// timeout is such an error, so a peer can never hold a thread forever.
    /// </summary>
    internal sealed class DimseAssociation : IDisposable
    {
        private readonly TcpClient? _tcp;
        private readonly Stream _stream;
        private readonly DimseOptions _options;
        private readonly Dictionary<byte, PresentationContext> _accepted = new Dictionary<byte, PresentationContext>();
        private readonly int _sendLimit;
        private bool _closed;
        private ushort _nextMessageId = 1;

        private DimseAssociation(TcpClient? tcp, Stream stream, DimseOptions options, AssociateMessage rq, AssociateMessage ac, bool isRequestor)
        {
            IsRequestor = isRequestor;
            _tcp = tcp;
            _stream = stream;
            _options = options;
            Request = rq;
            Accept = ac;
            foreach (var pc in ac.Contexts)
            {
                if (!pc.Accepted) continue;
                var proposed = rq.Contexts.FirstOrDefault(p => p.Id == pc.Id);
                if (proposed == null) continue;
                pc.AbstractSyntax = proposed.AbstractSyntax;
                _accepted[pc.Id] = pc;
            }
            uint peerMax = IsRequestor ? ac.MaxPduLength : rq.MaxPduLength;
            _sendLimit = peerMax == 0 || peerMax > options.MaxSendPduLength ? options.MaxSendPduLength : (int)Math.Max(peerMax, 64);
            SetReadTimeout(options.IdleTimeout);
        }

        public AssociateMessage Request { get; }
        public AssociateMessage Accept { get; }
        public bool IsRequestor { get; }
        public string CallingAe => Request.CallingAe;
        public string CalledAe => Request.CalledAe;
        public IEnumerable<PresentationContext> AcceptedContexts => _accepted.Values;
        public ushort NextMessageId() => _nextMessageId++;
        /// <summary>Whether the association is still usable (not released, aborted or broken).</summary>
        public bool IsOpen => !_closed;

        /// <summary>The accepted context for <paramref name="abstractSyntax"/> (preferring <paramref name="transferSyntax"/>), or null.</summary>
        public PresentationContext? FindContext(string abstractSyntax, string? transferSyntax = null) =>
            _accepted.Values.Where(p => p.AbstractSyntax == abstractSyntax)
                .OrderBy(p => transferSyntax != null && p.TransferSyntax == transferSyntax ? 0 : 1).FirstOrDefault();

        public PresentationContext Context(byte id) =>
            _accepted.TryGetValue(id, out var pc) ? pc : throw new DimseProtocolException($"presentation context {id} was not accepted.", 6);

        // ---- establishment ----

        /// <summary>Connects to an SCP and negotiates; an A-ASSOCIATE-RJ or abort is a <see cref="CxasException"/> saying why.</summary>
        public static DimseAssociation Connect(string host, int port, AssociateMessage rq, DimseOptions options, CancellationToken cancel = default)
        {
            var tcp = new TcpClient { NoDelay = true };
            string where = $"{rq.CalledAe}@{host}:{port}";
            try
            {
                var connect = tcp.ConnectAsync(host, port);
                if (!connect.Wait((int)options.ArtimTimeout.TotalMilliseconds, cancel))
                    throw new CxasException(CxasErrorKind.Network, $"{where} did not accept a connection within {options.ArtimTimeout.TotalSeconds:0} s.");
                var network = tcp.GetStream();
                network.ReadTimeout = network.WriteTimeout = (int)options.ArtimTimeout.TotalMilliseconds;
                Stream stream = options.UseTls ? Secure(network, host, where, options) : network;
                PduIo.Write(stream, PduType.AssociateRq, rq.Encode(request: true));
                var pdu = PduIo.Read(stream, options.MaxPduLength, options.ArtimTimeout, tcp.Client)
                    ?? throw new CxasException(CxasErrorKind.Network, $"{where} closed the connection instead of answering A-ASSOCIATE-RQ.");
                switch (pdu.Type)
                {
                    case PduType.AssociateAc:
                        var ac = AssociateMessage.Decode(pdu.Body, request: false);
                        return new DimseAssociation(tcp, stream, options, rq, ac, isRequestor: true);
                    case PduType.AssociateRj:
                        throw new CxasException(CxasErrorKind.Unauthorized, $"{where} rejected the association: {DescribeReject(pdu.Body)}.");
                    case PduType.Abort:
                        throw new CxasException(CxasErrorKind.Network, $"{where} aborted the association request.");
                    default:
                        throw new DimseProtocolException($"{where} answered A-ASSOCIATE-RQ with {pdu.Type}.");
                }
            }
            catch (AggregateException ex) when (ex.InnerException is SocketException se)
            {
                tcp.Dispose();
                throw new CxasException(CxasErrorKind.Network, $"{where} cannot be reached: {se.Message}", null, se);
            }
            catch (Exception ex) when (ex is IOException || ex is SocketException || ex is OperationCanceledException)
            {
                tcp.Dispose();
                throw new CxasException(CxasErrorKind.Network, $"{where} did not complete association: {ex.Message}", null, ex);
            }
            catch
            {
                tcp.Dispose();
                throw;
            }
        }

        /// <summary>TLS over the connection; a certificate the system does not trust for this host is refused, saying why.</summary>
        private static Stream Secure(NetworkStream network, string host, string where, DimseOptions options)
        {
            System.Net.Security.SslPolicyErrors problem = System.Net.Security.SslPolicyErrors.None;
            var ssl = new System.Net.Security.SslStream(network, false, (sender, certificate, chain, errors) =>
            {
                problem = errors;
                return options.SkipCertificateCheck || errors == System.Net.Security.SslPolicyErrors.None;
            });
            try
            {
                ssl.AuthenticateAsClient(host);
                return ssl;
            }
            catch (System.Security.Authentication.AuthenticationException ex)
            {
                ssl.Dispose();
                if (problem != System.Net.Security.SslPolicyErrors.None)
                    throw new CxasException(CxasErrorKind.Unauthorized, $"{where}: the node's TLS certificate is not trusted ({problem}).", null, ex, CxasRemedy.TrustCertificate);
                throw new CxasException(CxasErrorKind.Network, $"{where}: the TLS handshake failed: {ex.Message}", null, ex);
            }
        }

        /// <summary>
        /// Reads an A-ASSOCIATE-RQ within the ARTIM timeout and answers it: <paramref name="decide"/> returns the AC to send,
        /// or a rejection (result, source, reason) to send as A-ASSOCIATE-RJ, in which case this returns null.
        /// </summary>
        public static DimseAssociation? Receive(TcpClient tcp, DimseOptions options, Func<AssociateMessage, (AssociateMessage? Ac, byte[]? Reject)> decide)
        {
            var stream = tcp.GetStream();
            stream.ReadTimeout = (int)options.ArtimTimeout.TotalMilliseconds;
            stream.WriteTimeout = (int)options.IdleTimeout.TotalMilliseconds;
            try
            {
                var pdu = PduIo.Read(stream, options.MaxPduLength, options.ArtimTimeout, tcp.Client);
                if (pdu == null) return null;
                if (pdu.Value.Type != PduType.AssociateRq) throw new DimseProtocolException($"a connection began with {pdu.Value.Type}, not A-ASSOCIATE-RQ.");
                var rq = AssociateMessage.Decode(pdu.Value.Body, request: true);
                var (ac, reject) = decide(rq);
                if (ac == null)
                {
                    var r = reject ?? new byte[] { 1, 1, 1 };
                    PduIo.WriteReject(stream, r[0], r[1], r[2]);
                    return null;
                }
                PduIo.Write(stream, PduType.AssociateAc, ac.Encode(request: false));
                return new DimseAssociation(tcp, stream, options, rq, ac, isRequestor: false);
            }
            catch (DimseProtocolException ex)
            {
                TryAbort(stream, ex.Reason);
                throw;
            }
        }

        private static string DescribeReject(byte[] body)
        {
            if (body.Length < 4) return "no reason given";
            string source = body[2] == 1 ? "service user" : body[2] == 2 ? "service provider (ACSE)" : "service provider (presentation)";
            string reason = (body[2], body[3]) switch
            {
                (1, 2) => "application context not supported",
                (1, 3) => "calling AE title not recognised",
                (1, 7) => "called AE title not recognised",
                (2, 2) => "protocol version not supported",
                (3, 1) => "temporary congestion",
                (3, 2) => "local limit exceeded",
                _ => "no reason given",
            };
            return $"{(body[1] == 1 ? "permanent" : "transient")}, {source}: {reason} (reason {body[3]})";
        }

        // ---- messages ----

        /// <summary>Sends a command and its data set, fragmented to the peer's maximum PDU length.</summary>
        public void Send(byte contextId, DimseCommand command, byte[]? dataSet)
        {
            command.Set(DimseCommand.DataSetType, dataSet != null ? (ushort)0x0000 : DimseCommand.NoDataSet);
            Fragments(contextId, command.Encode(), isCommand: true);
            if (dataSet != null) Fragments(contextId, dataSet, isCommand: false);
        }

        private void Fragments(byte contextId, byte[] data, bool isCommand)
        {
            int chunk = _sendLimit - 6;
            int pos = 0;
            do
            {
                int n = Math.Min(chunk, data.Length - pos);
                bool last = pos + n == data.Length;
                var body = new byte[6 + n];
                PduIo.PutBigEndian32(body, 0, (uint)(n + 2));
                body[4] = contextId;
                body[5] = (byte)((isCommand ? 1 : 0) | (last ? 2 : 0));
                Array.Copy(data, pos, body, 6, n);
                PduIo.Write(_stream, PduType.PData, body);
                pos += n;
            } while (pos < data.Length);
        }

        /// <summary>
        /// The next message, or null when the peer asked for release (answered with A-RELEASE-RP). Reassembles PDVs:
        /// command fragments, then (when the command says so) data set fragments on the same context.
        /// </summary>
        public DimseMessage? ReceiveMessage()
        {
            var command = new MemoryStream();
            MemoryStream? data = null;
            DimseCommand? parsed = null;
            byte contextId = 0;
            long fragments = 0, bytes = 0;
            while (true)
            {
                var pdu = ReadPdu();
                switch (pdu.Type)
                {
                    case PduType.PData: break;
                    case PduType.ReleaseRq:
                        if (parsed != null || command.Length > 0) throw Protocol("the peer asked for release inside a message.");
                        PduIo.WriteRelease(_stream, response: true);
                        Close();
                        return null;
                    case PduType.Abort:
                        Close();
                        throw new CxasException(CxasErrorKind.Network, $"{PeerName} aborted the association.");
                    default:
                        throw Protocol($"unexpected {pdu.Type} during the association.");
                }
                var body = pdu.Body;
                int pos = 0;
                if (body.Length == 0) throw Protocol("a P-DATA-TF PDU holds no PDV.");
                while (pos < body.Length)
                {
                    if (pos + 6 > body.Length) throw Protocol("a PDV header runs past its PDU.");
                    uint length = PduIo.BigEndian32(body, pos);
                    if (length < 2 || length > (uint)(body.Length - pos - 4)) throw Protocol($"a PDV of {length} bytes does not fit its PDU.");
                    byte pc = body[pos + 4], header = body[pos + 5];
                    Context(pc);
                    bool isCommand = (header & 1) != 0, last = (header & 2) != 0;
                    if (command.Length == 0 && parsed == null) contextId = pc;
                    else if (pc != contextId) throw Protocol("one message spans two presentation contexts.");
                    int n = (int)length - 2;
                    // A trickle of tiny fragments never reaches the size bound nor the idle timeout: past the first
                    // thousand, fragments must carry 1 KiB each on average (real senders send several KiB each).
                    fragments++;
                    bytes += n;
                    if (fragments > MinFragmentsChecked && bytes < (fragments - MinFragmentsChecked) * 1024L)
                        throw Protocol($"{fragments} fragments carrying {bytes} bytes: a message trickled in fragments too small.", 2);
                    if (isCommand)
                    {
                        if (parsed != null) throw Protocol("a command fragment follows a complete command.");
                        if (command.Length + n > _options.MaxCommandBytes) throw Protocol($"a command longer than {_options.MaxCommandBytes} bytes.");
                        command.Write(body, pos + 6, n);
                        if (last)
                        {
                            parsed = DimseCommand.Decode(command.ToArray());
                            if (!parsed.HasDataSet) { if (pos + 4 + length != body.Length) throw Protocol("PDVs follow a complete message."); return new DimseMessage(contextId, parsed, null); }
                            data = new MemoryStream();
                        }
                    }
                    else
                    {
                        if (parsed == null || data == null) throw Protocol("a data set fragment comes before its command.");
                        if (data.Length + n > _options.MaxDataSetBytes) throw Protocol($"a data set longer than {_options.MaxDataSetBytes} bytes.", 2);
                        data.Write(body, pos + 6, n);
                        if (last)
                        {
                            if (pos + 4 + length != body.Length) throw Protocol("PDVs follow a complete message.");
                            return new DimseMessage(contextId, parsed, data.ToArray());
                        }
                    }
                    pos += 4 + (int)length;
                }
            }
        }

        private const long MinFragmentsChecked = 1024;

        private Pdu ReadPdu()
        {
            try
            {
                return PduIo.Read(_stream, _options.MaxPduLength + 6, _options.IdleTimeout, _tcp?.Client)
                    ?? throw new CxasException(CxasErrorKind.Network, $"{PeerName} closed the connection without releasing the association.");
            }
            catch (DimseProtocolException ex)
            {
                Abort(ex.Reason);
                throw new DimseProtocolException($"{PeerName}: {ex.Message}", ex.Reason);
            }
            catch (IOException ex)
            {
                Abort(0);
                throw new CxasException(CxasErrorKind.Network, $"{PeerName} sent nothing within {_options.IdleTimeout.TotalSeconds:0} s or broke the connection: {ex.Message}", null, ex);
            }
        }

        private DimseProtocolException Protocol(string message, byte reason = 6)
        {
            Abort(reason);
            return new DimseProtocolException($"{PeerName}: {message}", reason);
        }

        private string PeerName => IsRequestor ? Request.CalledAe : Request.CallingAe;

        // ---- release and abort ----

        /// <summary>A-RELEASE-RQ, then waits (ARTIM) for A-RELEASE-RP; the connection is closed either way.</summary>
        public void Release()
        {
            if (_closed) return;
            try
            {
                PduIo.WriteRelease(_stream, response: false);
                SetReadTimeout(_options.ArtimTimeout);
                for (int i = 0; i < 16; i++)
                {
                    var pdu = PduIo.Read(_stream, _options.MaxPduLength + 6, _options.ArtimTimeout, _tcp?.Client);
                    if (pdu == null || pdu.Value.Type == PduType.ReleaseRp || pdu.Value.Type == PduType.Abort) break;
                    if (pdu.Value.Type == PduType.ReleaseRq) { PduIo.WriteRelease(_stream, response: true); break; } // release collision
                }
            }
            catch (Exception ex) when (ex is IOException || ex is CxasException || ex is ObjectDisposedException) { }
            Close();
        }

        /// <summary>A-ABORT (as service user when <paramref name="reason"/> is 0, else as provider) and close.</summary>
        public void Abort(byte reason = 0)
        {
            if (_closed) return;
            TryAbort(_stream, reason);
            Close();
        }

        private static void TryAbort(Stream stream, byte reason)
        {
            try { PduIo.WriteAbort(stream, reason == 0 ? (byte)0 : (byte)2, reason); }
            catch (Exception ex) when (ex is IOException || ex is ObjectDisposedException || ex is InvalidOperationException) { }
        }

        private void SetReadTimeout(TimeSpan t)
        {
            if (_stream.CanTimeout) _stream.ReadTimeout = (int)Math.Min(int.MaxValue, t.TotalMilliseconds);
        }

        private void Close()
        {
            _closed = true;
            _stream.Dispose();
            _tcp?.Dispose();
        }

        public void Dispose() => Abort();
    }
}
