"""A real local SMTP server (aiosmtpd) for the notification e-mails, with Django's SMTP backend
pointed at it. It records every message it accepts and can refuse a recipient with a temporary
451 the first time, as a busy mail server does."""

from __future__ import annotations

import email
import threading
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from tests.support.services import free_port


@dataclass
class Received:
    to: list[str]
    subject: str
    body: str


@dataclass
class RecordingHandler:
    received: list[Received] = field(default_factory=list)
    refuse_once: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            if address in self.refuse_once:
                self.refuse_once.discard(address)
                self.refused.append(address)
                return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        with self.lock:
            self.received.append(
                Received(list(envelope.rcpt_tos), str(message["Subject"]), message.get_payload(decode=True).decode())
            )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [message for message in self.received if address in message.to]


@pytest.fixture
def smtp_server(settings):
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    try:
        yield handler
    finally:
        controller.stop()
