#!/usr/bin/env bash
# Start the SOP pipeline on this machine: Airflow 3 standalone on localhost:8080 (SQLite),
# this project's DAGs and plugin, WIB, one local user per office role. Data is kept between
# runs under .airflow/ (AIRFLOW_HOME). Ctrl-C (or SIGTERM, or `make stop`) stops every process
# this started; a second `make run` on the same AIRFLOW_HOME refuses (sop_tasks/airflow/launcher.py).
set -euo pipefail
cd "$(dirname "$0")/.."
export AIRFLOW_HOME="${AIRFLOW_HOME:-$PWD/.airflow}"
# shellcheck disable=SC1091
source .venv/bin/activate

eval "$(python -m sop_tasks.airflow.local env)"
python -m sop_tasks.airflow.launcher check
sop check-config
passwords=$(python -m sop_tasks.airflow.local users)
mkdir -p data/media

cat <<MSG

  Airflow SOP Dinarpus: http://localhost:${AIRFLOW__API__PORT}
  Kata sandi pengguna (admin, pengelola_ti, kasubag, kabid, kadis, bidang): ${passwords}
  Folder media: $PWD/data/media   Outbox: $PWD/data/outbox
  Hentikan dengan Ctrl-C (atau \`make stop\` dari terminal lain).

MSG
exec python -m sop_tasks.airflow.launcher run
