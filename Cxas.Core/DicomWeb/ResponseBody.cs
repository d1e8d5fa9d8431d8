using System.Net.Http;
using System.Threading;

namespace Cxas.DicomWeb
{
    /// <summary>A response whose body has been read into memory under a bound.</summary>
    internal sealed class Answer : IDisposable
    {
        public Answer(HttpResponseMessage response, byte[] body)
        {
            Response = response;
            Body = body;
        }

        public HttpResponseMessage Response { get; }
        public byte[] Body { get; }
        public System.Net.HttpStatusCode StatusCode => Response.StatusCode;
        public string? ContentType => Response.Content.Headers.ContentType?.ToString();

        public void Dispose() => Response.Dispose();
    }

    /// <summary>
    /// Reads a body that must be held whole (a JSON page, a DICOM object) into memory, never past a bound: a length
    /// announced beyond it is refused before the first byte, and a body that goes on past it is cut off there, so an
    /// endless or oversized answer costs at most the bound, once. Exceeding it is <see cref="CxasErrorKind.LimitExceeded"/>,
    /// which no retry repeats.
    /// </summary>
    internal static class ResponseBody
    {
        public static byte[] Read(HttpResponseMessage response, long limit, string what, Uri url, CancellationToken cancel)
        {
            limit = Math.Min(limit, int.MaxValue); // one array holds the body
            var announced = response.Content.Headers.ContentLength;
            if (announced > limit) throw TooLarge(what, url, limit, $"announces {announced} bytes");
            using var stream = response.Content.ReadAsStreamAsync().GetAwaiter().GetResult();
            // Sized to the announced length when there is one, so a whole body is neither regrown nor copied.
            var output = new MemoryStream(announced is long n && n > 0 ? (int)n : 0);
            var buffer = new byte[1 << 16];
            while (true)
            {
                int read = stream.ReadAsync(buffer, 0, buffer.Length, cancel).GetAwaiter().GetResult();
                if (read == 0) break;
                if (output.Length + read > limit) throw TooLarge(what, url, limit, "goes on");
                output.Write(buffer, 0, read);
            }
            return output.Length == output.Capacity ? output.GetBuffer() : output.ToArray();
        }

        private static CxasException TooLarge(string what, Uri url, long limit, string how) =>
            new CxasException(CxasErrorKind.LimitExceeded,
                $"{what} '{url}': the server's answer {how} past the {limit} bytes ({limit / (1 << 20)} MiB) accepted for it: refused.", url.ToString());
    }
}
