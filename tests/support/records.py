"""What tests keep on disk: a throwaway ledger, and a config file written for one test."""

from __future__ import annotations

from pathlib import Path

import yaml

from sop_tasks.records.ledger import Ledger


def new_ledger(tmp_path: Path) -> Ledger:
    """An empty ledger in its own SQLite file under ``tmp_path``."""
    return Ledger(f"sqlite:///{tmp_path / 'l.db'}")


def write_yaml(directory: Path, name: str, data: object) -> Path:
    """Write ``data`` (a mapping, or YAML text as it is) to ``directory / name``; return the file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path
