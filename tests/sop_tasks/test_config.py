import re
from pathlib import Path

import pytest
import yaml

from sop_tasks.cli import main
from sop_tasks.config import load_config
from sop_tasks.errors import ConfigError
from sop_tasks.routing import load_rules
from tests.support.records import write_yaml

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, data) -> Path:
    """The config directory holding ``data`` as its office.yaml."""
    return write_yaml(tmp_path / "config", "office.yaml", data).parent


def _base() -> dict:
    return yaml.safe_load((REPO / "config" / "office.yaml").read_text())


def test_shipped_config_is_valid():
    cfg = load_config(REPO / "config")
    assert [v.role for v in cfg.verifiers] == ["kasubag", "kabid", "kadis"]
    assert cfg.timezone == "Asia/Jakarta"
    assert cfg.path("media") == (REPO / "data" / "media").resolve()


def test_acting_official_is_one_more_username(tmp_path):
    raw = _base()
    raw["verifiers"][2]["users"].append("plt_kadis")
    cfg = load_config(_write(tmp_path, raw))
    assert cfg.verifier("kadis").users == ["kadis", "plt_kadis"]
    assert cfg.all_users()["plt_kadis"] == "user"


def test_errors_name_file_key_and_fix(tmp_path):
    raw = _base()
    raw["verifiers"][1]["users"] = []
    raw["channels"] = ["website", "facebook"]
    raw["timezone"] = "Asia/Jakrta"
    raw["typo_key"] = 1
    d = _write(tmp_path, raw)
    with pytest.raises(ConfigError) as ei:
        load_config(d)
    text = str(ei.value)
    assert str(d / "office.yaml") in text
    assert "verifiers[1].users" in text
    assert "channels[1]" in text and "website, instagram, twitter" in text
    assert "timezone" in text and "Asia/Jakrta" in text
    assert "typo_key" in text and "kunci tidak dikenal" in text


def test_chain_must_follow_the_sop(tmp_path):
    raw = _base()
    raw["verifiers"] = [raw["verifiers"][2], raw["verifiers"][0], raw["verifiers"][1]]
    with pytest.raises(ConfigError, match="kasubag, kabid, kadis"):
        load_config(_write(tmp_path, raw))


# Both config files are read by config.read_yaml_mapping: office.yaml (load_config takes its
# directory) and routing.yaml (load_rules takes the file).
def _load_office(file: Path) -> object:
    return load_config(file.parent)


READERS = [
    pytest.param(_load_office, "office.yaml", "verifiers: [\n  - role: kasubag\n", id="office"),
    pytest.param(
        load_rules,
        "routing.yaml",
        "default: sekretariat\nbidang:\n  perpustakaan: {keywords: {buku: 2.0}\n",
        id="routing",
    ),
]


@pytest.mark.parametrize(("load", "name", "broken"), READERS)
def test_broken_yaml_names_file_and_line(tmp_path, load, name, broken):
    path = write_yaml(tmp_path / "config", name, broken)
    with pytest.raises(ConfigError, match="baris") as exc:
        load(path)
    problems = "\n".join(exc.value.problems)
    assert problems.startswith(f"{path.resolve()} baris ")
    assert "YAML tidak valid" in problems


@pytest.mark.parametrize(("load", "name", "broken"), READERS)
def test_missing_file(tmp_path, load, name, broken):
    with pytest.raises(ConfigError, match="berkas tidak ada") as exc:
        load(tmp_path / name)
    assert "berkas tidak ada" in "\n".join(exc.value.problems)


def test_check_config_command_exit_codes(tmp_path, capsys):
    assert main(["check-config", "--dir", str(REPO / "config")]) == 0
    assert "Konfigurasi valid" in capsys.readouterr().out
    raw = _base()
    del raw["officers"]
    assert main(["check-config", "--dir", str(_write(tmp_path, raw))]) == 1
    err = capsys.readouterr().err
    assert "officers" in err and "wajib diisi" in err


def test_limits_choices_dates_and_cron_are_explained_with_the_fix(tmp_path):
    raw = _base()
    raw["monitoring"]["times"] = ["08:00", "12:00"]
    raw["monitoring"]["extra_cron"] = "tiap jam"
    raw["follow_up"]["x_update"] = "edit"
    raw["follow_up"]["ppid_days"] = 0
    raw["holidays"] = ["01-01-2027"]
    with pytest.raises(ConfigError) as ei:
        load_config(_write(tmp_path, raw))
    text = str(ei.value)
    assert "monitoring.times': terlalu sedikit isi; isi minimal 3" in text
    assert "bukan jadwal cron" in text and "0 9-16 * * 1-5" in text
    assert "follow_up.x_update': nilai tidak dikenal; pilihan: reply, repost" in text
    assert "follow_up.ppid_days': terlalu kecil; minimal 1" in text
    assert "holidays[0]': tanggal tidak sah; tulis YYYY-MM-DD" in text


def test_an_impossible_date_is_a_clear_config_error_not_a_traceback(tmp_path):
    text = (REPO / "config" / "office.yaml").read_text() + "\n"
    text = text.replace("holidays:", "holidays:\n  - 2027-13-01", 1)
    with pytest.raises(ConfigError) as ei:
        load_config(_write(tmp_path, text))
    assert "nilai tidak dapat dibaca" in str(ei.value) and "YYYY-MM-DD" in str(ei.value)


def test_check_config_also_checks_the_routing_rules_the_sweep_reads(tmp_path, capsys):
    d = _write(tmp_path, _base())
    (d / "routing.yaml").write_text((REPO / "config" / "routing.yaml").read_text())
    assert main(["check-config", "--dir", str(d)]) == 0
    assert "aturan rute" in capsys.readouterr().out
    (d / "routing.yaml").write_text("default: gudang\nbidang: [oops\n")
    assert main(["check-config", "--dir", str(d)]) == 1
    err = capsys.readouterr().err
    assert "routing.yaml" in err and "YAML tidak valid" in err


# -- bad input: keys written twice, one person in two duties --------------------------------------


def test_a_key_written_twice_names_the_key_and_both_lines(tmp_path, capsys):
    # the incident: a second `users:` under kadis silently made pengelola_ti the Kadis verifier
    text = (REPO / "config" / "office.yaml").read_text()
    text = text.replace("    users: [kadis]\n", "    users: [kadis]\n    users: [pengelola_ti]\n", 1)
    lines = text.splitlines()
    first = lines.index("    users: [kadis]") + 1
    d = _write(tmp_path, text)
    with pytest.raises(ConfigError) as ei:
        load_config(d)
    (problem,) = ei.value.problems
    assert problem.startswith(f"{d / 'office.yaml'} baris {first + 1}: kunci 'users' ditulis dua kali")
    assert f"pertama di baris {first}" in problem and "hapus" in problem
    assert main(["check-config", "--dir", str(d)]) == 1
    assert "kunci 'users' ditulis dua kali" in capsys.readouterr().err


def test_routing_yaml_duplicate_keys_are_refused_by_the_same_loader(tmp_path):
    text = (REPO / "config" / "routing.yaml").read_text() + "\ndefault: perpustakaan\n"
    path = write_yaml(tmp_path / "config", "routing.yaml", text)
    with pytest.raises(ConfigError, match="kunci 'default' ditulis dua kali"):
        load_rules(path)


def test_yaml_merge_keys_are_not_duplicates(tmp_path):
    from sop_tasks.config import read_yaml_mapping

    path = write_yaml(tmp_path, "x.yaml", "base: &b {a: 1}\nother:\n  <<: *b\n  a: 2\n")
    assert read_yaml_mapping(path)["other"] == {"a": 2}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda raw: raw["verifiers"][2]["users"].append("kasubag"),
            "pengguna 'kasubag' menjadi verifikator di langkah 2 (kasubag) dan langkah 4 (kadis)",
            id="one-person-two-steps",
        ),
        pytest.param(
            lambda raw: raw["verifiers"][1]["users"].append("pengelola_ti"),
            "pengguna 'pengelola_ti' adalah Pengelola TI ('officers.users') sekaligus verifikator langkah 3",
            id="officer-verifies",
        ),
    ],
)
def test_separation_of_duties(tmp_path, capsys, change, expected):
    raw = _base()
    change(raw)
    d = _write(tmp_path, raw)
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(d)
    assert main(["check-config", "--dir", str(d)]) == 1
    assert expected in capsys.readouterr().err
