from __future__ import annotations

import io
import json
import stat
from types import SimpleNamespace

import pytest

from sop_tasks import cli, passwords


def test_hash_verifies_only_the_right_password_and_is_salted():
    a, b = passwords.hash_password("rahasia-kantor-1"), passwords.hash_password("rahasia-kantor-1")
    assert a != b and a.startswith("scrypt$")
    assert "rahasia" not in a
    assert passwords.verify_password("rahasia-kantor-1", a)
    assert not passwords.verify_password("rahasia-kantor-2", a)
    assert not passwords.verify_password("rahasia-kantor-1", None)  # unknown user
    for broken in ("", "plain-text", "md5$x$y", "scrypt$1$2$3$!!$??", a.replace("scrypt", "bcrypt")):
        assert not passwords.verify_password("rahasia-kantor-1", broken), broken


def test_set_password_keeps_the_others_and_is_private(tmp_path):
    path = tmp_path / "hashes.json"
    passwords.set_password(path, "kadis", "sandi-kadis-panjang")
    passwords.set_password(path, "kabid", "sandi-kabid-panjang")
    passwords.set_password(path, "kadis", "sandi-kadis-baru-1")
    stored = json.loads(path.read_text())
    assert set(stored) == {"kadis", "kabid"}
    assert passwords.verify_password("sandi-kadis-baru-1", stored["kadis"])
    assert not passwords.verify_password("sandi-kadis-panjang", stored["kadis"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(ValueError, match="minimal"):
        passwords.set_password(path, "kadis", "pendek")
    assert json.loads(path.read_text()) == stored  # a refused change changes nothing


def _run(args: SimpleNamespace) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return cli.cmd_user_password(args, out, err), out.getvalue(), err.getvalue()


def test_cli_sets_a_random_password_once_and_refuses_unknown_users(tmp_path, monkeypatch):
    path = tmp_path / "hashes.json"
    monkeypatch.setenv(passwords.ENV_FILE, str(path))
    code, out, _ = _run(SimpleNamespace(nama="kadis", acak=True))
    assert code == 0
    shown = out.rsplit(": ", 1)[1].strip()
    assert passwords.verify_password(shown, passwords.load(path)["kadis"])
    code, _, err = _run(SimpleNamespace(nama="penyusup", acak=True))
    assert code == 2 and "tidak ada" in err and "office.yaml" in err
    assert set(passwords.load(path)) == {"kadis"}


def test_cli_asks_twice_and_changes_nothing_on_a_mismatch(tmp_path, monkeypatch):
    path = tmp_path / "hashes.json"
    monkeypatch.setenv(passwords.ENV_FILE, str(path))
    answers = iter(["sandi-panjang-sekali", "sandi-panjang-lain"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt="": next(answers))
    code, _, err = _run(SimpleNamespace(nama="kabid", acak=False))
    assert code == 2 and "tidak sama" in err and not path.exists()
    answers = iter(["sandi-panjang-sekali", "sandi-panjang-sekali"])
    code, out, _ = _run(SimpleNamespace(nama="kabid", acak=False))
    assert code == 0 and "sandi-panjang-sekali" not in out
    assert passwords.verify_password("sandi-panjang-sekali", passwords.load(path)["kabid"])
