import socket
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from nibog.notifications.channels import CONSOLE_OUTBOX


class RecordingHandler:
    """A real SMTP server's handler: keeps what arrived; can refuse the next N messages."""

    def __init__(self):
        self.messages = []
        self.fail_next = 0
        self.fail_reply = "451 4.3.0 Mailbox busy, try again later"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_next > 0:
            self.fail_next -= 1
            return self.fail_reply
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(app, monkeypatch):
    handler = RecordingHandler()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "")
    yield handler
    controller.stop()


@pytest.fixture(autouse=True)
def _empty_console(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE_LOCAL_PATH", str(tmp_path / "files"))
    CONSOLE_OUTBOX.clear()
    yield
    CONSOLE_OUTBOX.clear()
