using System.Net.Http.Headers;
using System.Text;

namespace Cxas.DicomWeb
{
    /// <summary>One body part of a multipart/related message: its headers and its bytes.</summary>
    internal sealed class MultipartPart
    {
        internal MultipartPart(Dictionary<string, string> headers, byte[] body)
        {
            Headers = headers;
            Body = body;
        }

        public IReadOnlyDictionary<string, string> Headers { get; }
        public byte[] Body { get; }
        public string? ContentType => Headers.TryGetValue("Content-Type", out var v) ? v : null;
    }

    /// <summary>multipart/related (RFC 2387) as DICOMweb uses it: parsing WADO-RS responses, building STOW-RS requests.</summary>
    internal static class Multipart
    {
        /// <summary>The boundary parameter of a multipart Content-Type, or null.</summary>
        public static string? Boundary(string? contentType)
        {
            if (contentType == null) return null;
            if (!MediaTypeHeaderValue.TryParse(contentType, out var media)) return null;
            if (!media.MediaType.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase)) return null;
            foreach (var p in media.Parameters)
                if (string.Equals(p.Name, "boundary", StringComparison.OrdinalIgnoreCase))
                    return p.Value?.Trim('"');
            return null;
        }

        /// <summary>
        /// Splits a multipart body into its parts. The preamble and epilogue are ignored; a body that does not end with the
        /// closing delimiter is refused (a truncated response must not pass for a whole one).
        /// </summary>
        public static List<MultipartPart> Parse(byte[] body, string boundary)
        {
            if (string.IsNullOrEmpty(boundary) || boundary.Length > 70)
                throw new CxasException(CxasErrorKind.InvalidData, "The multipart response has no valid boundary.");
            var delimiter = Encoding.ASCII.GetBytes("--" + boundary);
            var span = new ReadOnlySpan<byte>(body);
            var parts = new List<MultipartPart>();
            int at = FindDelimiter(span, delimiter, 0);
            if (at < 0) throw new CxasException(CxasErrorKind.InvalidData, "The multipart response has no part.");
            while (true)
            {
                int after = at + delimiter.Length;
                if (after + 2 <= span.Length && span[after] == '-' && span[after + 1] == '-') return parts; // closing delimiter
                int lineEnd = span.Slice(after).IndexOf(Crlf);
                if (lineEnd < 0) break;
                int headerStart = after + lineEnd + 2;
                int headerEnd = span.Slice(headerStart).IndexOf(CrlfCrlf);
                Dictionary<string, string> headers;
                int bodyStart;
                if (span.Slice(headerStart).StartsWith(Crlf))
                {
                    headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                    bodyStart = headerStart + 2;
                }
                else
                {
                    if (headerEnd < 0) break;
                    headers = ParseHeaders(Encoding.ASCII.GetString(body, headerStart, headerEnd));
                    bodyStart = headerStart + headerEnd + 4;
                }
                int next = FindDelimiter(span, delimiter, bodyStart);
                if (next < 0) break;
                int bodyEnd = next - 2; // the CRLF before the delimiter belongs to it
                if (bodyEnd < bodyStart) bodyEnd = bodyStart;
                var bytes = new byte[bodyEnd - bodyStart];
                Buffer.BlockCopy(body, bodyStart, bytes, 0, bytes.Length);
                parts.Add(new MultipartPart(headers, bytes));
                at = next;
            }
            throw new CxasException(CxasErrorKind.InvalidData, "The multipart response is truncated: its closing boundary is missing.");
        }

        private static readonly byte[] Crlf = { 13, 10 };
        private static readonly byte[] CrlfCrlf = { 13, 10, 13, 10 };

        /// <summary>The next delimiter at the start of the body or after a CRLF, at or after <paramref name="from"/>.</summary>
        private static int FindDelimiter(ReadOnlySpan<byte> span, byte[] delimiter, int from)
        {
            while (from <= span.Length - delimiter.Length)
            {
                int i = span.Slice(from).IndexOf(delimiter);
                if (i < 0) return -1;
                int at = from + i;
                if (at == 0 || (at >= 2 && span[at - 2] == 13 && span[at - 1] == 10)) return at;
                from = at + 1;
            }
            return -1;
        }

        private static Dictionary<string, string> ParseHeaders(string text)
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in text.Split(new[] { "\r\n" }, StringSplitOptions.RemoveEmptyEntries))
            {
                int colon = line.IndexOf(':');
                if (colon > 0) headers[line.Substring(0, colon).Trim()] = line.Substring(colon + 1).Trim();
            }
            return headers;
        }

        /// <summary>A multipart/related body with one application/dicom part per object; returns the body and the boundary.</summary>
        public static (byte[] Body, string Boundary) Build(IEnumerable<byte[]> objects, string contentType = "application/dicom")
        {
            var boundary = "cxas-" + Guid.NewGuid().ToString("N");
            var output = new MemoryStream();
            void Ascii(string s) { var b = Encoding.ASCII.GetBytes(s); output.Write(b, 0, b.Length); }
            foreach (var o in objects)
            {
                Ascii("--" + boundary + "\r\nContent-Type: " + contentType + "\r\n\r\n");
                output.Write(o, 0, o.Length);
                Ascii("\r\n");
            }
            Ascii("--" + boundary + "--\r\n");
            return (output.ToArray(), boundary);
        }
    }
}
