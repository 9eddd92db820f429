#!/usr/bin/env bash
# Start the SOP pipeline on this machine: Airflow 3 standalone on localhost:8080 (SQLite),
# this project's DAGs and plugin, WIB, one local user per office role. Data is kept between
# runs under .airflow/ (AIRFLOW_HOME); Ctrl-C stops everything this started.
set -euo pipefail
cd "$(dirname "$0")/.."
export AIRFLOW_HOME="${AIRFLOW_HOME:-$PWD/.airflow}"
# shellcheck disable=SC1091
source .venv/bin/activate

sop check-config
eval "$(python -m sop_tasks.airflow.local env)"
passwords=$(python -m sop_tasks.airflow.local users)
mkdir -p data/media

cat <<MSG

  Airflow SOP Dinarpus: http://localhost:${AIRFLOW__API__PORT}
  Kata sandi pengguna (admin, pengelola_ti, kasubag, kabid, kadis, bidang): ${passwords}
  Folder media: $PWD/data/media   Outbox: $PWD/data/outbox
  Hentikan dengan Ctrl-C.

MSG
exec python -m sop_tasks.airflow.local standalone  # airflow standalone, SOP roles kept
