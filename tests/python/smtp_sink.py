"""A real SMTP server (aiosmtpd) for the email channel tests (server/tests/notify.rs).

Listens on 127.0.0.1 (port 0 = any free port), prints one JSON line {"port": N} once it
accepts connections, and then writes every message it accepts as <dir>/<n>.json:
envelope, whether the session was encrypted, who logged in, the decoded subject and the
decoded MIME parts (so the test does not need a MIME parser), and the raw data.
Runs until killed or until stdin closes (the test's process handle going away).

Options: --starttls CERT KEY offers STARTTLS (and requires it, as a real submission server
does); --implicit-tls CERT KEY wraps the socket in TLS from the first byte (port 465 style);
--user/--password require AUTH PLAIN/LOGIN with exactly these credentials.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        data = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        parts = []
        for part in parsed.walk():
            if part.is_multipart():
                parts.append({"content_type": part.get_content_type(), "body": None})
            else:
                parts.append({"content_type": part.get_content_type(), "body": part.get_content()})
        login = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            # STARTTLS sets session.ssl; implicit TLS only shows on the transport.
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "login": login,
            "subject": str(parsed["subject"]),
            "message_id": str(parsed["message-id"]),
            "parts": parts,
            "raw": data.decode("utf-8", "replace"),
        }
        # Written under a temporary name and renamed, so the test never reads half a file.
        path = os.path.join(self.out_dir, f"{self.count}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.replace(path + ".tmp", path)
        return "250 Message accepted for delivery"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # handled=False: aiosmtpd then sends the 535 itself; with its default (True) it
        # sends nothing and the client waits for a reply that never comes.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


def tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


# aiosmtpd's own noise: it reads its deprecated Session.login_data itself, and warns about
# AUTH without TLS, which the plain-SMTP auth test does on purpose.
warnings.filterwarnings("ignore", message="Session.login_data is deprecated")
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--dir", required=True)
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--user")
    p.add_argument("--password")
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)

    handler = Sink(a.dir)
    starttls = tls_context(*a.starttls) if a.starttls else None
    wrap = tls_context(*a.implicit_tls) if a.implicit_tls else None
    kwargs = {}
    if a.user is not None:
        kwargs.update(
            authenticator=authenticator(a.user, a.password or ""),
            auth_required=True,
            # The plain-SMTP auth test sends AUTH without TLS on purpose.
            auth_require_tls=starttls is not None,
        )

    def factory():
        return SMTP(
            handler,
            # Without it aiosmtpd looks up this machine's FQDN, which can hang offline.
            hostname="sink.test",
            tls_context=starttls,
            require_starttls=starttls is not None,
            **kwargs,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", a.port, ssl=wrap)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)

    # Stop when the parent goes away even if it could not kill us.
    stdin_closed = loop.create_future()

    def on_stdin():
        if not sys.stdin.buffer.read1(4096) and not stdin_closed.done():
            stdin_closed.set_result(None)

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    async with server:
        await stdin_closed


if __name__ == "__main__":
    asyncio.run(main())
