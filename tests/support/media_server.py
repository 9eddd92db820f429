"""A real local HTTP server for media-URL tests: files, redirects and deliberately slow answers.

It listens on 127.0.0.1, which production refuses to download from; tests reach it through
:func:`test_policy` (the loopback allow-list and, when given, names that resolve to it).
"""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sop_tasks.media_fetch import FetchPolicy


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    location: str | None = None  # a redirect
    trickle_seconds: float = 0.0  # one byte of the body every so many seconds
    stall_before_headers: float = 0.0
    length: int | None = None  # Content-Length to announce (default: len(body); -1: none)


@dataclass
class MediaServer:
    base: str
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)

    def add(self, path: str, route: Route | None = None, **kw: object) -> str:
        self.routes[path] = route or Route(**kw)  # type: ignore[arg-type]
        return self.base + path

    def file(self, path: str, source: Path) -> str:
        return self.add(path, Route(body=source.read_bytes()))


@contextlib.contextmanager
def media_server(tls: tuple[Path, Path] | None = None) -> Iterator[MediaServer]:
    """The server; with ``tls`` (cert, key) it speaks HTTPS and its base URL is ``https://``."""
    state: dict[str, MediaServer] = {}
    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            server = state["s"]
            server.seen.append((self.path, self.headers.get("Host", "")))
            route = server.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            if route.stall_before_headers and stop.wait(route.stall_before_headers):
                return
            self.send_response(route.status)
            if route.location:
                self.send_header("Location", route.location)
            length = route.length if route.length is not None else len(route.body)
            if length >= 0:  # HTTP/1.0 without a length: the body ends when the server closes
                self.send_header("Content-Length", str(length))
            self.end_headers()
            try:
                if route.trickle_seconds:
                    for i in range(len(route.body)):
                        if stop.wait(route.trickle_seconds):
                            return
                        self.wfile.write(route.body[i : i + 1])
                        self.wfile.flush()
                else:
                    self.wfile.write(route.body)
            except OSError:  # the client hung up (a refused download): fine
                pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    port = int(httpd.server_address[1])
    state["s"] = MediaServer(f"{'https' if tls else 'http'}://127.0.0.1:{port}", port)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield state["s"]
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()


def test_policy(names: Mapping[str, list[str]] | None = None, **kw: object) -> FetchPolicy:
    """Production rules plus the loopback test server (127.0.0.1 only); ``names`` maps host names
    to the addresses the injected resolver answers (anything else: not found). Calls are
    counted in ``policy.resolve.calls``."""
    table = dict(names or {})
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host in table:
            return list(table[host])
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            raise OSError(f"unknown host {host}") from None

    resolve.calls = calls  # type: ignore[attr-defined]
    return FetchPolicy(resolve=resolve, allow=(ipaddress.ip_network("127.0.0.1/32"),), **kw)  # type: ignore[arg-type]


def elapsed(since: float) -> float:
    return time.monotonic() - since


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for ``name`` (its own CA) and its key, as PEM files: (cert, key)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.crt", directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file
