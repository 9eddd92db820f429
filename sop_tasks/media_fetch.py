"""Downloading media given as http(s) URLs at SOP step 1, safely.

A URL in the form is untrusted: it must not make the worker reach the office's own network or the
machine itself (loopback, private, link-local, multicast, reserved addresses — e.g. a cloud
metadata service at 169.254.169.254), nor keep a worker busy forever, nor fill its disk.

- The host is resolved once and **every** address it resolves to is checked; the connection is
  made to the checked address itself (no second DNS lookup that could answer differently), with
  the URL's host name kept for the ``Host`` header and for TLS (SNI and certificate check).
- Redirects are followed here, not by a library: each new location is resolved and checked again.
- One deadline covers the whole download, redirects included (a server trickling one byte every
  few seconds is cut off at the deadline), and the size is capped from the header and while
  streaming.

:class:`FetchPolicy` holds the defaults (one place). Tests inject a resolver and an allow-list
through it, because a local test server is itself a forbidden target in production.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, urljoin, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

DOWNLOAD_DEADLINE_SECONDS = 60.0  # the whole download, every redirect included
CONNECT_TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 5
CHUNK = 1 << 16
USER_AGENT = "sop-dinarpus-kendal/1 (pemeriksaan media SOP langkah 1)"
REDIRECTS = {301, 302, 303, 307, 308}


class FetchRefused(Exception):
    """Why a URL was not downloaded: an Indonesian sentence saying what to fix."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why the worker must not connect to ``ip`` (Indonesian), or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address carried inside IPv6 is judged as that IPv4 address: ::ffff:127.0.0.1
        # (mapped), 2002:7f00:1:: (6to4) and a Teredo client all lead to 127.0.0.1.
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None:
            return forbidden_reason(inner)
        if ip.is_site_local:  # fec0::/10: deprecated, yet still routed inside some networks
            return "alamat jaringan privat/internal"
    checks = (
        (ip.is_loopback, "alamat loopback (mesin ini sendiri)"),
        (ip.is_unspecified, "alamat tak tertentu"),
        (ip.is_link_local, "alamat link-local (mis. layanan metadata server)"),
        (ip.is_multicast, "alamat multicast"),
        (ip.is_reserved, "alamat yang dicadangkan"),
        (ip.is_private, "alamat jaringan privat/internal"),
        (not ip.is_global, "alamat yang bukan alamat publik internet"),
    )
    return next((why for hit, why in checks if hit), None)


@dataclass(frozen=True)
class FetchPolicy:
    """Limits and address rules of a media download (defaults are the production rules)."""

    deadline_seconds: float = DOWNLOAD_DEADLINE_SECONDS
    connect_timeout_seconds: float = CONNECT_TIMEOUT_SECONDS
    max_redirects: int = MAX_REDIRECTS
    resolve: Resolver = system_resolver
    # Networks allowed although not public. Production: none. Tests: the local test server.
    allow: tuple[IPNetwork, ...] = ()
    ca_file: str | None = None  # extra trust for TLS (tests); default: certifi's bundle

    def refusal(self, ip: IPAddress) -> str | None:
        if any(ip in net for net in self.allow):
            return None
        return forbidden_reason(ip)


def _tls_context(policy: FetchPolicy) -> ssl.SSLContext:
    try:
        import certifi

        ctx = ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - certifi comes with requests
        ctx = ssl.create_default_context()
    if policy.ca_file:
        ctx.load_verify_locations(policy.ca_file)
    return ctx


class _Deadline:
    """Closes the current socket when the deadline passes, whatever the socket is waiting for."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        return self.at - time.monotonic()

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.expired and sock is not None:
                _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._sock is not None:
                _shutdown(self._sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _checked_addresses(url: str, host: str, port: int, policy: FetchPolicy) -> list[str]:
    try:
        addresses = list(policy.resolve(host, port))
    except (OSError, UnicodeError):
        raise FetchRefused(
            f"Media '{url}': nama server '{host}' tidak ditemukan; periksa alamatnya"
        ) from None
    if not addresses:
        raise FetchRefused(f"Media '{url}': nama server '{host}' tidak ditemukan; periksa alamatnya")
    for raw in addresses:
        try:
            ip = ipaddress.ip_address(raw.split("%", 1)[0])
        except ValueError:
            raise FetchRefused(f"Media '{url}': alamat server '{raw}' tidak sah") from None
        why = policy.refusal(ip)
        if why:
            raise FetchRefused(
                f"Media '{url}': server '{host}' mengarah ke {why} ({ip}); media hanya boleh diunduh "
                "dari server publik di internet — unggah berkasnya ke folder media lalu tulis namanya"
            )
    return addresses


def _connect(
    url: str, host: str, port: int, https: bool, addresses: Sequence[str], policy: FetchPolicy, dl: _Deadline
) -> http.client.HTTPConnection:
    """An HTTP(S) connection to one of the checked ``addresses``; TLS is checked for ``host``."""
    last: OSError | None = None
    for address in addresses:
        timeout = min(policy.connect_timeout_seconds, max(dl.left(), 0.001))
        try:
            sock = socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            last = exc
            continue
        dl.watch(sock)
        try:
            if https:
                sock = _tls_context(policy).wrap_socket(sock, server_hostname=host)
                dl.watch(sock)
            sock.settimeout(max(dl.left(), 0.001))
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            if isinstance(exc, ssl.SSLCertVerificationError):
                raise FetchRefused(
                    f"Media '{url}': sertifikat HTTPS server '{host}' tidak sah ({exc.verify_message}); "
                    "periksa alamatnya"
                ) from None
            last = exc
            continue
        conn = http.client.HTTPConnection(host, port, timeout=max(dl.left(), 0.001))
        conn.sock = sock  # connected to the checked address: no second lookup
        return conn
    if dl.expired:
        raise _too_slow(url, policy)
    raise FetchRefused(
        f"Media '{url}': tidak dapat tersambung ke server '{host}' "
        f"({type(last).__name__ if last else 'tanpa alamat'}); periksa alamat dan jaringan"
    )


def _too_slow(url: str, policy: FetchPolicy) -> FetchRefused:
    return FetchRefused(
        f"Media '{url}': unduhan tidak selesai dalam {policy.deadline_seconds:g} detik (server terlalu "
        "lambat); unduh berkasnya sendiri, taruh di folder media, lalu tulis namanya"
    )


def download(url: str, dest: Path, max_bytes: int, policy: FetchPolicy | None = None) -> None:
    """Fetch ``url`` into ``dest`` under ``policy``; raise :class:`FetchRefused` with what to fix.

    ``dest`` is removed again when the download is refused or fails half-way.
    """
    policy = policy or FetchPolicy()
    dl = _Deadline(policy.deadline_seconds)
    try:
        _download(url, dest, max_bytes, policy, dl)
    except FetchRefused:
        dest.unlink(missing_ok=True)
        raise
    except (OSError, http.client.HTTPException) as exc:
        dest.unlink(missing_ok=True)
        if dl.expired or dl.left() <= 0:
            raise _too_slow(url, policy) from None
        raise FetchRefused(
            f"Media '{url}': tidak dapat diunduh ({type(exc).__name__}); periksa alamat dan jaringan"
        ) from None
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    finally:
        dl.cancel()


def _download(url: str, dest: Path, max_bytes: int, policy: FetchPolicy, dl: _Deadline) -> None:
    current = url
    for _ in range(policy.max_redirects + 1):
        parts, host = _split(url, current)
        https = parts.scheme.lower() == "https"
        try:
            port = parts.port or (443 if https else 80)
        except ValueError:
            raise FetchRefused(f"Media '{url}': nomor port tidak sah") from None
        addresses = _checked_addresses(url, host, port, policy)
        conn = _connect(url, host, port, https, addresses, policy, dl)
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            name = f"[{host}]" if ":" in host else host
            host_header = name if port == (443 if https else 80) else f"{name}:{port}"
            headers = {"Host": host_header, "User-Agent": USER_AGENT, "Accept": "image/*, video/*"}
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
            if resp.status in REDIRECTS and resp.getheader("Location"):
                location = resp.getheader("Location", "")
                try:
                    current = urljoin(current, location)
                except ValueError:  # "http://[bad/": split again below, where it is refused
                    current = location
                continue
            if resp.status != 200:
                raise FetchRefused(
                    f"Media '{url}': tidak dapat diunduh (HTTP {resp.status}); periksa alamatnya"
                )
            _save(url, resp, dest, max_bytes, policy, dl)
            return
        finally:
            conn.close()
            dl.watch(None)
    raise FetchRefused(
        f"Media '{url}': dialihkan lebih dari {policy.max_redirects} kali; tulis alamat akhir berkasnya"
    )


def _split(url: str, current: str) -> tuple[SplitResult, str]:
    """``current`` (the URL or a redirect's target) split, and its host name in ASCII (IDNA)."""
    where = "" if current == url else f" (dialihkan ke {current})"
    try:
        parts = urlsplit(current)
    except ValueError:  # e.g. "http://[::1/": an unclosed IPv6 bracket
        raise FetchRefused(f"Media '{url}': alamat tidak sah{where}; periksa penulisannya") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchRefused(f"Media '{url}': hanya alamat http(s) yang dapat diunduh{where}")
    if parts.username is not None or parts.password is not None:
        # Never sent, yet "http://situs-resmi.go.id@203.0.113.9/" misleads the verifiers about the
        # source, and a password would be kept in the run's records.
        raise FetchRefused(
            f"Media '{url}': alamat tidak boleh memuat nama pengguna atau sandi (bagian sebelum '@')"
            f"{where}; tulis alamat tanpa bagian itu"
        )
    try:  # "bücher.example" is "xn--bcher-kva.example" on the wire (DNS, TLS name, Host header)
        host = (
            parts.hostname.encode("idna").decode("ascii") if not parts.hostname.isascii() else parts.hostname
        )
    except UnicodeError:
        raise FetchRefused(f"Media '{url}': nama server '{parts.hostname}' tidak sah{where}") from None
    return parts, host


def _save(
    url: str, resp: http.client.HTTPResponse, dest: Path, max_bytes: int, policy: FetchPolicy, dl: _Deadline
) -> None:
    too_big = f"Media '{url}': lebih dari {max_bytes // 2**20} MB; perkecil berkasnya"
    length = resp.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > max_bytes:
        raise FetchRefused(too_big)
    got = 0
    with dest.open("wb") as fh:
        while True:
            if dl.left() <= 0:
                raise _too_slow(url, policy)
            chunk = resp.read1(CHUNK)
            if not chunk:
                break
            got += len(chunk)
            if got > max_bytes:
                raise FetchRefused(too_big)
            fh.write(chunk)
    if dl.expired:  # the deadline closed the socket: what arrived is incomplete
        raise _too_slow(url, policy)
