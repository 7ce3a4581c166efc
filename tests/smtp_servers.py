"""SMTP servers with TLS and AUTH on loopback (aiosmtpd), and a throwaway PKI for them.

`LoopbackPki.generate()` makes a self-signed CA and a server certificate for 127.0.0.1/localhost signed by it; a client
trusts the server only when it is given `ca_pem`. `recording_smtp_server` runs an aiosmtpd server that speaks plain
SMTP, requires STARTTLS, or speaks TLS from the first byte (implicit TLS), checks AUTH against a user table, and
keeps the bytes it received.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.servers import SmtpSink, _Handler, free_port


@dataclass(frozen=True)
class LoopbackPki:
    ca_pem: str
    server_cert_pem: str
    server_key_pem: str

    @classmethod
    def generate(cls, common_name: str = "mauntic test CA") -> LoopbackPki:
        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        server_key = ec.generate_private_key(ec.SECP256R1())
        server_cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name)
            .public_key(server_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        return cls(
            ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM).decode(),
            server_cert_pem=server_cert.public_bytes(serialization.Encoding.PEM).decode(),
            server_key_pem=server_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
        )

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as directory:
            cert, key = Path(directory, "cert.pem"), Path(directory, "key.pem")
            cert.write_text(self.server_cert_pem)
            key.write_text(self.server_key_pem)
            context.load_cert_chain(cert, key)
        return context


@dataclass
class RecordingSmtpSink(SmtpSink):
    """An SmtpSink that also records who logged in."""

    logins: list[str] = field(default_factory=list)


class _UserTable:
    """An aiosmtpd authenticator: LOGIN/PLAIN against fixed credentials; records who logged in."""

    def __init__(self, users: Mapping[str, str], sink: RecordingSmtpSink) -> None:
        self._users = dict(users)
        self._sink = sink

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self._users.get(login) == password:
                self._sink.logins.append(login)
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)


@asynccontextmanager
async def recording_smtp_server(
    mode: Literal["none", "starttls", "tls"], *, pki: LoopbackPki | None = None, users: Mapping[str, str] | None = None
) -> AsyncIterator[RecordingSmtpSink]:
    """An SMTP server on loopback. `none` speaks plain SMTP; `starttls` requires STARTTLS before anything else;
    `tls` is implicit TLS (both need `pki`). With `users` it offers AUTH; in `starttls` mode only after STARTTLS, and
    then requires it."""
    sink = RecordingSmtpSink(host="127.0.0.1", port=free_port())
    tls: dict[str, Any] = {}
    if mode != "none":
        if pki is None:
            raise ValueError(f"mode {mode} needs a pki")
        context = pki.server_context()
        tls = {"tls_context": context, "require_starttls": True} if mode == "starttls" else {"ssl_context": context}
    # aiosmtpd counts only STARTTLS as TLS for auth_require_tls (and warns about requiring AUTH without it), so the
    # other modes offer AUTH without requiring it; tests check `logins` there.
    starttls = mode == "starttls"
    auth: dict[str, Any] = (
        {"authenticator": _UserTable(users, sink), "auth_required": starttls, "auth_require_tls": starttls}
        if users
        else {}
    )
    controller = Controller(_Handler(sink), hostname=sink.host, port=sink.port, **tls, **auth)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
