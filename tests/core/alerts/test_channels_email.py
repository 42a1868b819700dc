"""The email channel against aiosmtpd on loopback: plain, STARTTLS and SSL, with AUTH."""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.alerts.channels import EmailChannel, build_channel
from tests.conftest import T0_MS, FakeClock
from tests.promstack import free_port
from tests.receivers import alert, notification

USER, PASSWORD = "pulse", "sm7p-S3cret!"
# aiosmtpd warns about AUTH without STARTTLS even on an implicit-TLS (SSL) socket, where it is safe
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@dataclass
class Certs:
    ca: Path
    cert: Path
    key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A throwaway CA and a server certificate for localhost / 127.0.0.1 signed by it."""
    root = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Pulse test CA"))
        .issuer_name(_name("Pulse test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    out = Certs(root / "ca.pem", root / "server.pem", root / "server.key")
    out.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    out.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    out.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return out


@dataclass
class Mailbox:
    """The aiosmtpd handler: keeps each message, the envelope and who logged in."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> AuthResult:
        if isinstance(auth, LoginPassword) and (auth.login, auth.password) == (
            USER.encode(),
            PASSWORD.encode(),
        ):
            self.logins.append(auth.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def server_context(certs: Certs) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certs.cert, certs.key)
    return ctx


@pytest.fixture(params=["none", "starttls", "ssl"])
def smtp(request: pytest.FixtureRequest, certs: Certs) -> Iterator[tuple[str, int, Mailbox]]:
    """aiosmtpd in one of three modes; STARTTLS and SSL require AUTH, which needs TLS first."""
    mode: str = request.param
    box, port = Mailbox(), free_port()
    kwargs: dict[str, Any] = {"authenticator": box.authenticate}
    if mode == "starttls":
        kwargs |= {"tls_context": server_context(certs), "require_starttls": True, "auth_required": True}
    elif mode == "ssl":
        # aiosmtpd only knows of TLS it started itself: on an implicit-TLS socket AUTH is already encrypted
        kwargs |= {"ssl_context": server_context(certs), "auth_required": True, "auth_require_tls": False}
    controller = Controller(box, hostname="127.0.0.1", port=port, server_hostname="localhost", **kwargs)
    controller.start()
    yield mode, port, box
    controller.stop()


def channel_settings(mode: str, port: int, certs: Certs, **kw: Any) -> EmailChannel:
    auth = {} if mode == "none" else {"username": USER, "password": PASSWORD}
    return EmailChannel(
        name="mail",
        host="localhost",
        port=port,
        security=mode,  # type: ignore[arg-type]
        sender="pulse@example.com",
        to=["ops@example.com", "oncall@example.com"],
        timeout_s=5,
        **{**auth, "ca_file": str(certs.ca), **kw},
    )


def test_email_is_delivered_in_each_mode(smtp: tuple[str, int, Mailbox], certs: Certs) -> None:
    mode, port, box = smtp
    ch = build_channel(channel_settings(mode, port, certs), clock=FakeClock())
    d = ch.send(notification())
    assert (d.ok, d.status_code, d.outcome, d.error) == (True, 250, "delivered", ""), d.error
    assert d.at_ms == T0_MS and d.action == "trigger"
    assert box.logins == ([] if mode == "none" else [USER])
    (msg,) = box.messages
    assert box.envelopes == [("pulse@example.com", ["ops@example.com", "oncall@example.com"])]
    assert msg["Subject"] == "[FIRING:2] HostDown (host-1 critical)"
    assert msg["From"] == "pulse@example.com" and msg["To"] == "ops@example.com, oncall@example.com"
    assert msg["Date"] == "Wed, 15 Nov 2023 00:00:00 +0000"
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    plain = text.get_content().replace("\r\n", "\n")
    assert plain.startswith("[FIRING:2] HostDown (host-1 critical)\n\n2 firing:")
    assert "Runbook: https://runbooks.example.com/HostDown" in plain and "instance=host-1:9200" in plain
    markup = html.get_content()
    assert '<a href="https://runbooks.example.com/HostDown">Runbook</a>' in markup
    assert "<h2>[FIRING:2] HostDown (host-1 critical)</h2>" in markup


def test_resolved_subject_and_html_escaping(certs: Certs) -> None:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        a = alert(status="resolved", ends_at_ms=T0_MS + 1, host="<script>")
        d = build_channel(channel_settings("none", port, certs)).send(notification(a))
        assert d.ok, d.error
        (msg,) = box.messages
        assert msg["Subject"] == "[RESOLVED] HostDown (<script> critical)"
        html = msg.get_body(("html",))
        assert html is not None and "&lt;script&gt;" in html.get_content()
        assert "<script>" not in html.get_content()
    finally:
        controller.stop()


def test_wrong_password_is_a_permanent_failure_without_the_password(certs: Certs) -> None:
    box, port = Mailbox(), free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context(certs),
        require_starttls=True,
        authenticator=box.authenticate,
        auth_required=True,
    )
    controller.start()
    try:
        wrong = channel_settings("starttls", port, certs, password="Wr0ng-Pa55word")
        d = build_channel(wrong).send(notification())
        assert (d.ok, d.status_code, d.retryable) == (False, 535, False)
        assert "SMTPAuthenticationError" in d.error and "Wr0ng-Pa55word" not in d.error
        assert box.messages == []
    finally:
        controller.stop()


def test_an_untrusted_certificate_is_refused_clearly(certs: Certs) -> None:
    box, port = Mailbox(), free_port()
    controller = Controller(
        box, hostname="127.0.0.1", port=port, ssl_context=server_context(certs), server_hostname="localhost"
    )
    controller.start()
    try:
        settings = channel_settings("ssl", port, certs, ca_file=None)
        d = build_channel(settings).send(notification())
        assert (d.ok, d.retryable) == (False, False)
        assert "TLS certificate of localhost not trusted" in d.error and "set ca_file" in d.error
        assert box.messages == []
    finally:
        controller.stop()


def test_a_server_that_is_down_is_a_retryable_failure(certs: Certs) -> None:
    d = build_channel(channel_settings("starttls", free_port(), certs)).send(notification())
    assert (d.ok, d.status_code, d.retryable) == (False, None, True)
    assert "ConnectionRefusedError" in d.error


def test_starttls_required_but_not_offered_is_reported(certs: Certs) -> None:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)  # no TLS at all
    controller.start()
    try:
        d = build_channel(channel_settings("starttls", port, certs)).send(notification())
        assert not d.ok and "does not offer STARTTLS" in d.error and box.messages == []
    finally:
        controller.stop()
