using System.Text;

namespace Cxas.Dimse
{
    /// <summary>The upper layer PDU types of PS3.8 9.3.</summary>
    internal enum PduType : byte
    {
        AssociateRq = 0x01, AssociateAc = 0x02, AssociateRj = 0x03, PData = 0x04, ReleaseRq = 0x05, ReleaseRp = 0x06, Abort = 0x07,
    }

    /// <summary>One PDU as read from the wire: its type and its body (the bytes after the 6-byte header).</summary>
    internal readonly struct Pdu
    {
        public Pdu(PduType type, byte[] body) { Type = type; Body = body; }
        public PduType Type { get; }
        public byte[] Body { get; }
    }

    /// <summary>A protocol error of the peer: the association is aborted (A-ABORT, reason <see cref="Reason"/>).</summary>
    internal sealed class DimseProtocolException : CxasException
    {
        public DimseProtocolException(string message, byte reason = 2) : base(CxasErrorKind.InvalidData, message) => Reason = reason;
        /// <summary>PS3.8 9.3.8 provider reason: 1 unrecognized PDU, 2 unexpected PDU, 4 unrecognized parameter, 6 invalid parameter value.</summary>
        public byte Reason { get; }
    }

    /// <summary>
    /// Reads and writes PDUs: a 6-byte header (type, reserved, 32-bit big-endian length) and the body. Every length read
    /// from the wire is checked against a bound before anything is allocated for it, so a peer announcing 4 GB gets an
    /// error, not an allocation; bodies are read in full or the read fails (a closed connection mid-PDU is an error).
    /// </summary>
    internal static class PduIo
    {
        /// <summary>The largest A-ASSOCIATE-RQ/AC accepted (a few hundred presentation contexts fit easily).</summary>
        public const int MaxAssociateLength = 256 * 1024;

        /// <summary>
        /// The next PDU, or null at a clean end of stream before its first byte. <paramref name="maxPDataLength"/> bounds
        /// P-DATA-TF bodies (what we advertised as our maximum length); control PDUs have bounds of their own. Once its first
        /// byte has come, the whole PDU must arrive within <paramref name="budget"/> (a peer trickling a byte now and then,
        /// each within the read timeout, is cut off); waiting for that first byte is the read timeout's business. With the
        /// <paramref name="socket"/> under the stream, each read asks for immediate acknowledgements (<see cref="QuickAck"/>).
        /// </summary>
        public static Pdu? Read(Stream stream, int maxPDataLength, TimeSpan? budget = null, System.Net.Sockets.Socket? socket = null)
        {
            var header = new byte[6];
            var started = new System.Diagnostics.Stopwatch();
            var limit = budget ?? TimeSpan.MaxValue;
            int got = ReadSome(stream, header, 0, 6, started, limit, socket);
            if (got == 0) return null;
            if (got < 6) throw new DimseProtocolException("the connection closed inside a PDU header.");
            var type = (PduType)header[0];
            uint length = BigEndian32(header, 2);
            long bound;
            switch (type)
            {
                case PduType.AssociateRq: case PduType.AssociateAc: bound = MaxAssociateLength; break;
                case PduType.PData: bound = maxPDataLength; break;
                case PduType.AssociateRj: case PduType.ReleaseRq: case PduType.ReleaseRp: case PduType.Abort: bound = 4; break;
                default: throw new DimseProtocolException($"unrecognised PDU type 0x{header[0]:X2}.", 1);
            }
            if (length > bound)
                throw new DimseProtocolException($"a {type} PDU announces {length} bytes, more than the {bound} allowed.", 6);
            var body = new byte[length];
            if (ReadSome(stream, body, 0, body.Length, started, limit, socket) < body.Length)
                throw new DimseProtocolException($"the connection closed inside a {type} PDU.");
            return new Pdu(type, body);
        }

        private static int ReadSome(Stream stream, byte[] buffer, int offset, int count, System.Diagnostics.Stopwatch started, TimeSpan limit,
            System.Net.Sockets.Socket? socket)
        {
            int total = 0;
            while (total < count)
            {
                if (started.Elapsed > limit)
                    throw new DimseProtocolException($"a PDU was still incomplete after {limit.TotalSeconds:0} s.", 2);
                QuickAck.Request(socket);
                int n = stream.Read(buffer, offset + total, count - total);
                if (n == 0) break;
                started.Start();
                total += n;
            }
            return total;
        }

        public static void Write(Stream stream, PduType type, byte[] body, int offset = 0, int count = -1)
        {
            if (count < 0) count = body.Length - offset;
            // One write per PDU: a header sent apart from its body costs a delayed-ACK wait on peers that use Nagle.
            var pdu = new byte[6 + count];
            pdu[0] = (byte)type;
            PutBigEndian32(pdu, 2, (uint)count);
            Array.Copy(body, offset, pdu, 6, count);
            stream.Write(pdu, 0, pdu.Length);
            stream.Flush();
        }

        /// <summary>A-ASSOCIATE-RJ (result 1 permanent / 2 transient, source 1 user / 2 ACSE / 3 presentation, reason).</summary>
        public static void WriteReject(Stream stream, byte result, byte source, byte reason) =>
            Write(stream, PduType.AssociateRj, new byte[] { 0, result, source, reason });

        /// <summary>A-ABORT (source 0 service user, 2 service provider).</summary>
        public static void WriteAbort(Stream stream, byte source, byte reason) => Write(stream, PduType.Abort, new byte[] { 0, 0, source, reason });

        public static void WriteRelease(Stream stream, bool response) =>
            Write(stream, response ? PduType.ReleaseRp : PduType.ReleaseRq, new byte[4]);

        public static uint BigEndian32(byte[] b, int at) => (uint)(b[at] << 24 | b[at + 1] << 16 | b[at + 2] << 8 | b[at + 3]);
        public static int BigEndian16(byte[] b, int at) => b[at] << 8 | b[at + 1];

        public static void PutBigEndian32(byte[] b, int at, uint v)
        {
            b[at] = (byte)(v >> 24); b[at + 1] = (byte)(v >> 16); b[at + 2] = (byte)(v >> 8); b[at + 3] = (byte)v;
        }

        /// <summary>An AE title as the 16-byte field of A-ASSOCIATE: ASCII, space-padded.</summary>
        public static byte[] AeField(string ae)
        {
            var field = Enumerable.Repeat((byte)' ', 16).ToArray();
            var bytes = Encoding.ASCII.GetBytes(ae);
            Array.Copy(bytes, field, Math.Min(16, bytes.Length));
            return field;
        }

        /// <summary>
        /// Checks an AE title Cxas is asked to use (PS3.5 AE: 1 to 16 characters, no backslash or control characters,
        /// not all spaces) and returns it trimmed.
        /// </summary>
        public static string CheckAeTitle(string? ae, string what)
        {
            var t = (ae ?? "").Trim();
            if (t.Length == 0 || t.Length > 16 || t.Any(c => c < 0x20 || c > 0x7E || c == '\\'))
                throw new CxasException(CxasErrorKind.InvalidArgument,
                    $"{what} '{ae}' is not a valid AE title: 1 to 16 printable ASCII characters, no backslash.");
            return t;
        }
    }
}

namespace Cxas.Dimse
{
    /// <summary>
    /// TCP_QUICKACK before each read, on Linux: peers that send a PDU in two segments with Nagle's algorithm on (dcmtk,
    /// Orthanc) otherwise wait for our delayed acknowledgement of the first, about 40 ms per response. The kernel clears
    /// the flag as it goes, hence before every read; elsewhere, or where setsockopt is missing, nothing happens.
    /// </summary>
    internal static class QuickAck
    {
        private const int IpProtoTcp = 6, TcpQuickAck = 12;
        private static bool _unavailable = !System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux);

        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        private static extern int setsockopt(IntPtr socket, int level, int name, ref int value, int length);

        public static void Request(System.Net.Sockets.Socket? socket)
        {
            if (socket == null || _unavailable) return;
            try
            {
                int on = 1;
                setsockopt(socket.Handle, IpProtoTcp, TcpQuickAck, ref on, sizeof(int));
            }
            catch (Exception ex) when (ex is DllNotFoundException || ex is EntryPointNotFoundException || ex is ObjectDisposedException)
            {
                _unavailable = ex is not ObjectDisposedException;
            }
        }
    }
}
