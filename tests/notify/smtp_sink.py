"""A real SMTP server for the notification tests (aiosmtpd): it requires AUTH LOGIN/PLAIN
with the user and password it is given, accepts every message, and appends one JSON line per
message (envelope sender, recipients, Message-ID, subject, body) to the file it is given.

    python3 smtp_sink.py PORT USER PASSWORD OUT_FILE

Prints "ready" once it listens; stops when its standard input closes.
"""

import json
import sys
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Sink:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        mail = message_from_bytes(envelope.original_content, policy=policy.default)
        body = mail.get_body(preferencelist=("plain",))
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "message_id": mail.get("Message-ID", ""),
            "subject": str(mail.get("Subject", "")),
            "body": body.get_content() if body is not None else "",
            "user": getattr(session, "auth_data", None) and session.auth_data.login.decode(),
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "250 OK"


def main():
    port, user, password, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    controller = Controller(
        Sink(out),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
