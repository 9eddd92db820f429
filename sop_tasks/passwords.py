"""Salted password hashes for the staff logins (no plaintext password file in production).

A hashes file is JSON ``{"user": "scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>"}``, mode 0600. The
auth manager (``sop_tasks.airflow.auth``) checks logins against it when ``[sop]
password_hashes_file`` is set; ``sop pengguna sandi NAMA`` sets or resets one user's password.
Pure standard library (``hashlib.scrypt``), no Airflow.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from pathlib import Path

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1  # RFC 7914's interactive-login parameters: ~16 MB, tens of ms
SALT_BYTES = 16
KEY_BYTES = 32
MIN_LENGTH = 10
ENV_FILE = "AIRFLOW__SOP__PASSWORD_HASHES_FILE"
DEFAULT_NAME = "password_hashes.json"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=KEY_BYTES)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(key)}"


_DUMMY = hash_password(secrets.token_urlsafe(16))


def verify_password(password: str, stored: str | None) -> bool:
    """True if ``password`` matches ``stored``. An unknown user (``stored`` None) or a malformed
    entry costs the same work as a real check and is False."""
    try:
        scheme, n, r, p, salt, key = (stored or _DUMMY).split("$")
        if scheme != SCHEME:
            raise ValueError(scheme)
        expected = base64.b64decode(key)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return stored is not None and hmac.compare_digest(got, expected)


def hashes_file(airflow_home: Path | None = None) -> Path:
    """``$AIRFLOW__SOP__PASSWORD_HASHES_FILE``, else ``password_hashes.json`` in AIRFLOW_HOME."""
    if os.environ.get(ENV_FILE):
        return Path(os.environ[ENV_FILE])
    home = airflow_home or Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")
    return home / DEFAULT_NAME


def load(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text() or "{}")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: bukan objek JSON {{pengguna: hash}}")
    return {str(k): str(v) for k, v in data.items()}


def set_password(path: Path, user: str, password: str) -> None:
    """Store ``user``'s new hash, atomically, readable by the owner only."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"kata sandi terlalu pendek: minimal {MIN_LENGTH} karakter")
    current = load(path)
    current[user] = hash_password(password)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".hashes-")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(current, f, indent=2)
            f.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
