"""A real SMTP server for the tests (aiosmtpd), started by testkit/src/smtp.rs.

Listens on 127.0.0.1:PORT, requires AUTH PLAIN/LOGIN with the given credentials before MAIL,
optionally speaks implicit TLS (smtps://) with the given certificate, and writes each accepted
mail, as received, to MAILDIR/<n>.eml (written to a temporary name first, then renamed, so a
reader never sees half a mail). While the file FAIL_FLAG exists every mail is refused with
451 (a transient failure: the sender must retry later).
"""

import argparse
import os
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, maildir, fail_flag):
        self.maildir = maildir
        self.fail_flag = fail_flag
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.fail_flag and os.path.exists(self.fail_flag):
            return "451 4.3.0 test server told to fail"
        with self.lock:
            self.count += 1
            n = self.count
        tmp = os.path.join(self.maildir, f".{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.maildir, f"{n:06}.eml"))
        return "250 OK"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--fail-flag")
    p.add_argument("--cert")
    p.add_argument("--key")
    a = p.parse_args()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == a.user.encode()
            and auth_data.password == a.password.encode()
        )
        return AuthResult(success=ok)

    tls = None
    if a.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.cert, a.key)
    controller = Controller(
        Handler(a.maildir, a.fail_flag),
        hostname="127.0.0.1",
        port=a.port,
        ssl_context=tls,
        authenticator=authenticator,
        auth_required=True,
        # Plain smtp:// in tests runs on loopback; production refuses AUTH without TLS itself.
        auth_require_tls=False,
        server_hostname="localhost",
    )
    controller.start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
