"""A webhook receiver for the tests, started by testkit/src/webhooks.rs.

Listens on 127.0.0.1, port 0 (the kernel picks one; it is written to PORT_FILE once listening),
and verifies every POST with the Standard Webhooks reference library
(`standardwebhooks.Webhook(secret).verify(body, headers)`), with the secret read from
SECRET_FILE at each request (the test learns it only after registering this receiver's URL).
What it does with a request is read from MODE_FILE at each request:
- `ok` (or no file): 204 if the signature verifies, 400 if not;
- `fail`: 500;
- `slow`: sleeps SLOW_SECS (longer than the sender's 10 s timeout), then 204.
Every request is appended to RECORD_FILE as one JSON line, written once the answer is decided:
{"webhook_id", "webhook_timestamp", "verified", "error", "mode", "status", "body", "at"}.
"""

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


def read(path, default=""):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except FileNotFoundError:
        return default


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--secret-file", required=True)
    p.add_argument("--mode-file", required=True)
    p.add_argument("--record-file", required=True)
    p.add_argument("--slow-secs", type=float, default=12.0)
    args = p.parse_args()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            mode = read(args.mode_file, "ok")
            headers = {k: v for k, v in self.headers.items()}
            verified, error = False, None
            try:
                Webhook(read(args.secret_file)).verify(body, headers)
                verified = True
            except Exception as e:  # the verifier's refusal, recorded for the test
                error = f"{type(e).__name__}: {e}"
            if mode == "fail":
                status = 500
            elif mode == "slow":
                time.sleep(args.slow_secs)
                status = 204 if verified else 400
            else:
                status = 204 if verified else 400
            record = {
                "webhook_id": self.headers.get("webhook-id"),
                "webhook_timestamp": self.headers.get("webhook-timestamp"),
                "verified": verified,
                "error": error,
                "mode": mode,
                "status": status,
                "body": body.decode("utf-8", "replace"),
                "at": time.time(),
            }
            with lock, open(args.record_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            try:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting (its timeout)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
