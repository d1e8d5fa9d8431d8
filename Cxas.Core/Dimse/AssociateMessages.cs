using System.Text;

namespace Cxas.Dimse
{
    /// <summary>One presentation context: proposed (an abstract syntax and transfer syntaxes) or answered (a result and one transfer syntax).</summary>
    internal sealed class PresentationContext
    {
        public byte Id { get; set; }
        public string AbstractSyntax { get; set; } = "";
        public List<string> TransferSyntaxes { get; set; } = new List<string>();
        /// <summary>In an A-ASSOCIATE-AC: 0 acceptance, 1 user rejection, 2 no reason, 3 abstract syntax not supported, 4 transfer syntaxes not supported.</summary>
        public byte Result { get; set; }
        /// <summary>Role selection for this abstract syntax (C-GET: the SCU also acts as storage SCP).</summary>
        public bool ProposeScpRole { get; set; }

        public bool Accepted => Result == 0;
        public string TransferSyntax => TransferSyntaxes.Count > 0 ? TransferSyntaxes[0] : "";
    }

    /// <summary>
    /// The parameters of an A-ASSOCIATE-RQ or -AC (PS3.8 9.3.2-9.3.3, annex D): AE titles, the application context,
    /// presentation contexts, and the user information items (maximum PDU length, implementation class UID and version
    /// name, SCP/SCU role selection). Encodes both and decodes both, checking every item length against the bytes there.
    /// </summary>
    internal sealed class AssociateMessage
    {
        public const string ApplicationContext = "1.2.840.10008.3.1.1.1";

        public string CalledAe { get; set; } = "";
        public string CallingAe { get; set; } = "";
        public List<PresentationContext> Contexts { get; } = new List<PresentationContext>();
        /// <summary>The largest P-DATA-TF body the sender accepts (0: no limit).</summary>
        public uint MaxPduLength { get; set; }
        public string ImplementationClassUid { get; set; } = Cxas.Dicom.DicomUid.ImplementationClass;
        public string? ImplementationVersion { get; set; } = Cxas.Dicom.DicomUid.ImplementationVersion;
        /// <summary>Abstract syntaxes for which role selection proposes (RQ) or grants (AC) the SCP role to the requestor.</summary>
        public HashSet<string> ScpRoles { get; } = new HashSet<string>();

        // ---- encoding: fixed fields, then items (10H application context, 20H/21H contexts, 50H user information) ----

        public byte[] Encode(bool request)
        {
            var s = new MemoryStream();
            s.WriteByte(0); s.WriteByte(1); s.WriteByte(0); s.WriteByte(0); // protocol version 1, reserved
            s.Write(PduIo.AeField(CalledAe), 0, 16);
            s.Write(PduIo.AeField(CallingAe), 0, 16);
            s.Write(new byte[32], 0, 32);
            Item(s, 0x10, Ascii(ApplicationContext));
            foreach (var pc in Contexts)
            {
                var body = new MemoryStream();
                body.WriteByte(pc.Id); body.WriteByte(0); body.WriteByte(request ? (byte)0 : pc.Result); body.WriteByte(0);
                if (request) Item(body, 0x30, Ascii(pc.AbstractSyntax));
                foreach (var ts in request ? pc.TransferSyntaxes : pc.TransferSyntaxes.Take(1)) Item(body, 0x40, Ascii(ts));
                if (!request && pc.TransferSyntaxes.Count == 0) Item(body, 0x40, Ascii(Cxas.Dicom.TransferSyntaxes.ImplicitLittle));
                Item(s, request ? (byte)0x20 : (byte)0x21, body.ToArray());
            }
            var user = new MemoryStream();
            var max = new byte[4];
            PduIo.PutBigEndian32(max, 0, MaxPduLength);
            Item(user, 0x51, max);
            Item(user, 0x52, Ascii(ImplementationClassUid));
            foreach (var sop in ScpRoles)
            {
                var uid = Ascii(sop);
                var role = new byte[uid.Length + 4];
                role[0] = (byte)(uid.Length >> 8); role[1] = (byte)uid.Length;
                Array.Copy(uid, 0, role, 2, uid.Length);
                role[uid.Length + 2] = request ? (byte)0 : (byte)0; // SCU role: the requestor stays SCU by default
                role[uid.Length + 3] = 1;                           // SCP role: proposed, or accepted
                Item(user, 0x54, role);
            }
            if (ImplementationVersion != null) Item(user, 0x55, Ascii(ImplementationVersion));
            Item(s, 0x50, user.ToArray());
            return s.ToArray();
        }

        private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

        private static void Item(Stream s, byte type, byte[] value)
        {
            if (value.Length > 0xFFFF) throw new ArgumentException("An A-ASSOCIATE item is longer than 65535 bytes.");
            s.WriteByte(type); s.WriteByte(0); s.WriteByte((byte)(value.Length >> 8)); s.WriteByte((byte)value.Length);
            s.Write(value, 0, value.Length);
        }

        // ---- decoding ----

        public static AssociateMessage Decode(byte[] body, bool request)
        {
            if (body.Length < 68) throw new DimseProtocolException($"an A-ASSOCIATE PDU of {body.Length} bytes is shorter than its fixed fields.", 6);
            var m = new AssociateMessage
            {
                CalledAe = Encoding.ASCII.GetString(body, 4, 16).Trim(' ', '\0'),
                CallingAe = Encoding.ASCII.GetString(body, 20, 16).Trim(' ', '\0'),
                ImplementationClassUid = "", ImplementationVersion = null,
            };
            if ((PduIo.BigEndian16(body, 0) & 1) == 0) throw new DimseProtocolException("the peer does not support protocol version 1.", 6);
            bool sawContext = false;
            foreach (var (type, at, length) in Items(body, 68, body.Length))
            {
                switch (type)
                {
                    case 0x10:
                        if (Text(body, at, length) != ApplicationContext)
                            throw new DimseProtocolException($"unknown application context '{Text(body, at, length)}'.", 6);
                        sawContext = true;
                        break;
                    case 0x20: case 0x21:
                        if (type != (request ? 0x20 : 0x21)) throw new DimseProtocolException($"presentation context item 0x{type:X2} in the wrong PDU.", 4);
                        m.Contexts.Add(DecodeContext(body, at, length, request));
                        break;
                    case 0x50:
                        DecodeUser(m, body, at, length);
                        break;
                    default:
                        throw new DimseProtocolException($"unrecognised A-ASSOCIATE item 0x{type:X2}.", 4);
                }
            }
            if (!sawContext) throw new DimseProtocolException("the A-ASSOCIATE PDU has no application context.", 6);
            return m;
        }

        private static PresentationContext DecodeContext(byte[] body, int at, int length, bool request)
        {
            if (length < 4) throw new DimseProtocolException("a presentation context item is too short.", 6);
            var pc = new PresentationContext { Id = body[at], Result = request ? (byte)0 : body[at + 2] };
            foreach (var (type, sub, subLength) in Items(body, at + 4, at + length))
            {
                if (type == 0x30 && request) pc.AbstractSyntax = Text(body, sub, subLength);
                else if (type == 0x40) pc.TransferSyntaxes.Add(Text(body, sub, subLength));
                else throw new DimseProtocolException($"unrecognised presentation context sub-item 0x{type:X2}.", 4);
            }
            if (request && (pc.AbstractSyntax.Length == 0 || pc.TransferSyntaxes.Count == 0))
                throw new DimseProtocolException($"presentation context {pc.Id} lacks an abstract syntax or transfer syntax.", 6);
            return pc;
        }

        private static void DecodeUser(AssociateMessage m, byte[] body, int at, int length)
        {
            foreach (var (type, sub, subLength) in Items(body, at, at + length))
            {
                switch (type)
                {
                    case 0x51:
                        if (subLength != 4) throw new DimseProtocolException("the maximum length sub-item is not 4 bytes.", 6);
                        m.MaxPduLength = PduIo.BigEndian32(body, sub);
                        break;
                    case 0x52: m.ImplementationClassUid = Text(body, sub, subLength); break;
                    case 0x55: m.ImplementationVersion = Text(body, sub, subLength); break;
                    case 0x54:
                        if (subLength < 4) throw new DimseProtocolException("a role selection sub-item is too short.", 6);
                        int uidLength = PduIo.BigEndian16(body, sub);
                        if (uidLength + 4 != subLength) throw new DimseProtocolException("a role selection sub-item's UID length is inconsistent.", 6);
                        if (body[sub + uidLength + 3] == 1) m.ScpRoles.Add(Text(body, sub + 2, uidLength));
                        break;
                    default: break; // asynchronous operations window, extended negotiation, user identity: not used, ignored
                }
            }
        }

        /// <summary>The items between <paramref name="from"/> and <paramref name="to"/>: type, value offset and value length; each length checked.</summary>
        private static IEnumerable<(byte Type, int At, int Length)> Items(byte[] body, int from, int to)
        {
            int pos = from;
            while (pos < to)
            {
                if (pos + 4 > to) throw new DimseProtocolException("an A-ASSOCIATE item header runs past its container.", 6);
                int length = PduIo.BigEndian16(body, pos + 2);
                if (pos + 4 + length > to) throw new DimseProtocolException($"an A-ASSOCIATE item of {length} bytes runs past its container.", 6);
                yield return (body[pos], pos + 4, length);
                pos += 4 + length;
            }
        }

        private static string Text(byte[] body, int at, int length) => Encoding.ASCII.GetString(body, at, length).Trim(' ', '\0');
    }
}
