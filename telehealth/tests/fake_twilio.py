"""A local stand-in for Twilio's Messages API: a real HTTP server on 127.0.0.1 in a thread.

It checks what Twilio checks (path with the account SID, basic auth, To/From/Body), records every
request, and answers like Twilio: 201 with the message resource, 401/400/404 with Twilio's error
JSON. ``script`` queues answers for the next requests ("drop" closes the connection without a
reply) so tests can make the provider fail and recover.
"""

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

ACCOUNT_SID = "AC" + "0" * 32  # the shape of a Twilio account SID; not a real account
AUTH_TOKEN = "local-fake-token"
FROM_NUMBER = "+15005550006"


@dataclass
class FakeTwilio:
    url: str = ""
    requests: list = field(default_factory=list)  # every request, as dicts
    script: list = field(default_factory=list)  # answers for the next requests: (status, json) or "drop"
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def messages(self) -> list[dict]:
        """The messages Twilio accepted (answered 201)."""
        return [r["form"] for r in self.requests if r["status"] == 201]

    def fail_next(self, *answers):
        with self.lock:
            self.script.extend(answers)


def _handler(fake: FakeTwilio):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            with fake.lock:
                scripted = fake.script.pop(0) if fake.script else None
            record = {"path": self.path, "form": form, "authorization": self.headers.get("Authorization", ""),
                      "content_type": self.headers.get("Content-Type", "")}
            if scripted == "drop":
                record["status"] = None
                fake.requests.append(record)
                self.close_connection = True
                self.connection.shutdown(2)  # no status line: the client sees the connection drop
                return
            status, body = scripted or self._twilio(form)
            record["status"] = status
            fake.requests.append(record)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _twilio(self, form):
            expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
            if self.path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
            if self.headers.get("Authorization") != expected:
                return 401, {"code": 20003, "message": "Authenticate", "status": 401}
            if not form.get("To", "").startswith("+") or not form.get("Body") or form.get("From") != FROM_NUMBER:
                return 400, {"code": 21604, "message": "A 'To' phone number is required.", "status": 400}
            return 201, {"sid": "SM" + uuid.uuid4().hex, "status": "queued", "to": form["To"], "from": form["From"],
                         "body": form["Body"], "account_sid": ACCOUNT_SID}

    return Handler


@pytest.fixture
def fake_twilio(settings):
    """Twilio configured and pointed at a local fake server; yields the server's record."""
    fake = FakeTwilio()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_API_BASE = fake.url
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def sms_off(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_AUTH_TOKEN = ""
    settings.TWILIO_FROM_NUMBER = ""
