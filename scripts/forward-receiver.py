#!/usr/bin/env python3
# A webhook receiver for the forwarding benchmark: counts distinct X-Tideline-Event-Id.
import http.server, socketserver, sys, threading
ids = set(); total = [0]; lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0)); self.rfile.read(n)
        with lock:
            ids.add(self.headers.get("X-Tideline-Event-Id")); total[0] += 1
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok"); self.wfile.flush()
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
s = S(("127.0.0.1", int(sys.argv[1])), H)
def report():
    import time
    while True:
        time.sleep(1)
        with open(sys.argv[2], "w") as f: f.write(f"{len(ids)} {total[0]}\n")
threading.Thread(target=report, daemon=True).start()
s.serve_forever()
