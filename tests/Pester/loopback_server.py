"""A loopback HTTP server for the Install-CxasModel Pester tests: serves the files of one folder on a free 127.0.0.1
port (printed on the first line of stdout) and imitates what the real sources do:

  /files/<name>            the file, with Range support
  /drop/<name>             the first request sends half the file and closes the connection; later ones honour Range
  /github/<...>.pth        302 to /signed/reference.pth?sig=1 (a release asset redirecting to signed storage)
  /signed/<name>           the file
  /drive/uc?id=...         a Drive "cannot scan for viruses" page with its form and a download_warning cookie
  /usercontent/download    the file, only with the form's confirm/uuid fields and the cookie
  /html/<anything>         an HTML page (200)
  /slow/<anything>         announces 1,000,000 bytes, sends 'PK\x03\x04' and then one byte every 2 s (300 at most)
  /endless/<anything>      no length, 'PK\x03\x04' and then zeros until 256 MiB or the client goes away
  /tofile/<anything>       302 to file:///etc/passwd
  /busy/<name>/<...>       a DICOMweb server under load: the first request of <name> is 503, later ones an empty
                           QIDO answer ([])
  /hold/<name>/<...>       as /busy/, but later requests wait (60 s at most) for a file release-<name> in FOLDER
  /seen/<name>             how many requests /busy/<name> or /hold/<name> got, as text
  anything else            404

Usage: python3 loopback_server.py FOLDER. Runs until killed. Never listens beyond 127.0.0.1.
"""

import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

FOLDER = sys.argv[1]
TOKEN = "pester-token"
dropped = set()
seen = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_file(self, name, drop=False):
        path = os.path.join(FOLDER, os.path.basename(name))
        if not os.path.isfile(path):
            return self.not_found()
        data = open(path, "rb").read()
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Connection", "close")
        self.end_headers()
        if drop:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def html(self, text, status=200, cookie=None):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    def not_found(self):
        self.html("<html><title>Not Found</title></html>", 404)

    def misbehave(self, slow):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if slow:
            self.send_header("Content-Length", "1000000")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            if slow:
                for i in range(300):
                    self.wfile.write(b"PK\x03\x04"[i % 4:i % 4 + 1])
                    self.wfile.flush()
                    time.sleep(2)
            else:
                chunk = b"PK\x03\x04" + bytes(65532)
                for _ in range(4096):
                    self.wfile.write(chunk)
                    chunk = bytes(65536)
        except OSError:
            pass  # the client went away, as it should

    def text(self, body, status, content_type="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def busy(self, name, hold):
        with lock:
            seen[name] = seen.get(name, 0) + 1
            first = seen[name] == 1
        if first:
            return self.text("busy", 503)
        if hold:
            release = os.path.join(FOLDER, "release-" + os.path.basename(name))
            for _ in range(600):  # bounded: 60 s
                if os.path.exists(release):
                    break
                time.sleep(0.1)
        return self.text("[]", 200, "application/dicom+json")

    def do_GET(self):
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        p = url.path
        if p.startswith("/files/"):
            return self.send_file(p[7:])
        if p.startswith("/drop/"):
            name = p[6:]
            with lock:
                first = name not in dropped
                dropped.add(name)
            return self.send_file(name, drop=first)
        if p.startswith("/github/") and p.endswith(".pth"):
            return self.redirect("/signed/reference.pth?sig=1")
        if p.startswith("/signed/"):
            return self.send_file(p[8:])
        if p == "/drive/uc":
            page = ("<html><head><title>Google Drive - Virus scan warning</title></head><body>"
                    "<form id=\"download-form\" action=\"/usercontent/download\" method=\"get\">"
                    f"<input type=\"hidden\" name=\"id\" value=\"{q.get('id', '')}\">"
                    "<input type=\"hidden\" name=\"export\" value=\"download\">"
                    f"<input type=\"hidden\" name=\"confirm\" value=\"{TOKEN}\">"
                    "<input type=\"hidden\" name=\"uuid\" value=\"u-1\"></form></body></html>")
            return self.html(page, cookie=f"download_warning_1={TOKEN}; Path=/")
        if p == "/usercontent/download":
            if q.get("confirm") == TOKEN and q.get("uuid") == "u-1" and TOKEN in (self.headers.get("Cookie") or ""):
                return self.send_file("reference.pth")
            return self.html("<html><title>Forbidden</title></html>", 403)
        if p.startswith("/slow/") or p.startswith("/endless/"):
            return self.misbehave(slow=p.startswith("/slow/"))
        if p.startswith("/tofile/"):
            return self.redirect("file:///etc/passwd")
        if p.startswith("/busy/") or p.startswith("/hold/"):
            return self.busy(p.split("/")[2], hold=p.startswith("/hold/"))
        if p.startswith("/seen/"):
            with lock:
                count = seen.get(p[6:], 0)
            return self.text(str(count), 200)
        if p.startswith("/html/"):
            return self.html("<!doctype html><html><head><title>Sign in</title></head><body>log in first</body></html>")
        return self.not_found()


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
