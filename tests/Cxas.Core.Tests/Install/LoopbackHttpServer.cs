using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace Cxas.Core.Tests.Install
{
    /// <summary>
    /// A minimal HTTP/1.1 server on a free 127.0.0.1 port, one request per connection, written for the install tests
    /// so they control what real servers do to a download: ranges, redirects, cookies, a connection dropped halfway,
    /// error pages. It never talks to anything but loopback clients.
    /// </summary>
    internal sealed class LoopbackHttpServer : IDisposable
    {
        public sealed class Request
        {
            public string Method = "";
            /// <summary>Path and query as sent.</summary>
            public string Target = "";
            public Dictionary<string, string> Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            /// <summary>The request body (read when Content-Length announces one).</summary>
            public byte[] Body = Array.Empty<byte>();
            public string Path => Target.Split('?')[0];
            public string Query => Target.Contains('?') ? Target.Substring(Target.IndexOf('?') + 1) : "";
            public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;
            public string? QueryValue(string name) =>
                Query.Split('&').Select(p => p.Split(new[] { '=' }, 2)).Where(p => p[0] == name).Select(p => p.Length > 1 ? Uri.UnescapeDataString(p[1]) : "").FirstOrDefault();
            public override string ToString() => $"{Method} {Target}" + (Header("Range") is string r ? $" [Range {r}]" : "");
        }

        public sealed class Response
        {
            public int Status = 200;
            public string Reason = "OK";
            public string ContentType = "application/octet-stream";
            public byte[] Body = Array.Empty<byte>();
            public List<KeyValuePair<string, string>> Headers = new List<KeyValuePair<string, string>>();
            /// <summary>Answer "Range: bytes=N-" with 206 and the rest of the body.</summary>
            public bool AcceptRanges;
            /// <summary>Announce the full length but close the connection after this many body bytes.</summary>
            public long? DropAfter;
            /// <summary>Writes the whole answer itself, status line and headers included (endless or trickling bodies); the rest is ignored.</summary>
            public Action<Stream>? Raw;

            public static Response File(byte[] body, bool ranges = true, long? dropAfter = null) =>
                new Response { Body = body, AcceptRanges = ranges, DropAfter = dropAfter };

            public static Response Redirect(string location, int status = 302) =>
                new Response { Status = status, Reason = "Found", ContentType = "text/plain", Headers = { new KeyValuePair<string, string>("Location", location) } };

            public static Response Html(string html, int status = 200) =>
                new Response { Status = status, Reason = status == 200 ? "OK" : "Error", ContentType = "text/html; charset=utf-8", Body = Encoding.UTF8.GetBytes(html) };

            public static Response NotFound() =>
                new Response { Status = 404, Reason = "Not Found", ContentType = "text/html", Body = Encoding.UTF8.GetBytes("<html><title>Not Found</title></html>") };
        }

        private readonly TcpListener _listener;
        private readonly Thread _thread;
        private readonly Func<Request, Response> _handler;
        private readonly List<Request> _log = new List<Request>();
        private volatile bool _stopping;

        public LoopbackHttpServer(Func<Request, Response> handler)
        {
            _handler = handler;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _thread = new Thread(AcceptLoop) { IsBackground = true, Name = "loopback-http" };
            _thread.Start();
        }

        public int Port { get; }
        public string BaseUrl => $"http://127.0.0.1:{Port}";
        public Uri Url(string pathAndQuery) => new Uri(BaseUrl + pathAndQuery);

        /// <summary>Every request received, in order.</summary>
        public IReadOnlyList<Request> Log { get { lock (_log) return _log.ToList(); } }

        private void AcceptLoop()
        {
            while (!_stopping)
            {
                TcpClient client;
                try { client = _listener.AcceptTcpClient(); }
                catch (SocketException) { return; }
                catch (ObjectDisposedException) { return; }
                catch (InvalidOperationException) { return; } // stopped before the first accept
                var worker = new Thread(() => Serve(client)) { IsBackground = true };
                worker.Start();
            }
        }

        private void Serve(TcpClient client)
        {
            using (client)
            {
                try
                {
                    client.ReceiveTimeout = 10000;
                    var stream = client.GetStream();
                    var request = ReadRequest(stream);
                    if (request == null) return;
                    lock (_log) _log.Add(request);
                    Response response;
                    try { response = _handler(request); }
                    catch (Exception ex) { response = new Response { Status = 500, Reason = "Handler failed", ContentType = "text/plain", Body = Encoding.UTF8.GetBytes(ex.ToString()) }; }
                    Write(stream, request, response);
                }
                catch (IOException) { }
                catch (SocketException) { }
            }
        }

        private static Request? ReadRequest(NetworkStream stream)
        {
            var bytes = new List<byte>();
            while (true)
            {
                int b = stream.ReadByte();
                if (b < 0) return null;
                bytes.Add((byte)b);
                int n = bytes.Count;
                if (n >= 4 && bytes[n - 4] == '\r' && bytes[n - 3] == '\n' && bytes[n - 2] == '\r' && bytes[n - 1] == '\n') break;
                if (n > 65536) return null;
            }
            var lines = Encoding.ASCII.GetString(bytes.ToArray()).Split(new[] { "\r\n" }, StringSplitOptions.None);
            var first = lines[0].Split(' ');
            var request = new Request { Method = first[0], Target = first.Length > 1 ? first[1] : "/" };
            foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
            {
                int colon = line.IndexOf(':');
                if (colon > 0) request.Headers[line.Substring(0, colon).Trim()] = line.Substring(colon + 1).Trim();
            }
            if (request.Header("Content-Length") is string length && int.TryParse(length, out int count) && count > 0 && count <= 64 << 20)
            {
                request.Body = new byte[count];
                int read = 0, r;
                while (read < count && (r = stream.Read(request.Body, read, count - read)) > 0) read += r;
            }
            return request;
        }

        private static void Write(NetworkStream stream, Request request, Response response)
        {
            if (response.Raw != null)
            {
                response.Raw(stream);
                return;
            }
            int status = response.Status;
            string reason = response.Reason;
            long from = 0;
            var body = response.Body;
            var extra = new List<string>();
            var range = request.Header("Range");
            if (response.AcceptRanges && status == 200 && range != null && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith("-", StringComparison.Ordinal)
                && long.TryParse(range.Substring(6, range.Length - 7), out from))
            {
                if (from >= body.Length)
                {
                    status = 416; reason = "Range Not Satisfiable";
                    extra.Add($"Content-Range: bytes */{body.Length}");
                    body = Array.Empty<byte>();
                }
                else
                {
                    status = 206; reason = "Partial Content";
                    extra.Add($"Content-Range: bytes {from}-{body.Length - 1}/{body.Length}");
                    body = body.Skip((int)from).ToArray();
                }
            }
            if (response.AcceptRanges) extra.Add("Accept-Ranges: bytes");
            var head = new StringBuilder();
            head.Append($"HTTP/1.1 {status} {reason}\r\n");
            head.Append($"Content-Type: {response.ContentType}\r\n");
            head.Append($"Content-Length: {body.Length}\r\n");
            head.Append("Connection: close\r\n");
            foreach (var h in response.Headers) head.Append($"{h.Key}: {h.Value}\r\n");
            foreach (var h in extra) head.Append(h + "\r\n");
            head.Append("\r\n");
            var headBytes = Encoding.ASCII.GetBytes(head.ToString());
            stream.Write(headBytes, 0, headBytes.Length);
            if (request.Method == "HEAD") return;
            long send = response.DropAfter.HasValue ? Math.Min(body.Length, Math.Max(0, response.DropAfter.Value - from)) : body.Length;
            stream.Write(body, 0, (int)send);
            stream.Flush();
            // A dropped connection: the announced length is never reached.
        }

        public void Dispose()
        {
            _stopping = true;
            _listener.Stop();
            _thread.Join(2000);
        }
    }
}
