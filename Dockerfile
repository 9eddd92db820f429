# The Airflow image of the production-like stack (docker-compose.yaml): the official image at the
# same Airflow version as the lock, plus this project's runtime dependencies and package.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.txt /opt/sop/src/requirements.txt
# Runtime dependencies only (the part of requirements.txt above "development and tests");
# apache-airflow is pinned to the image's own version, so pip keeps it.
RUN sed '/^# development and tests/,$d' /opt/sop/src/requirements.txt > /tmp/runtime.txt \
 && pip install --no-cache-dir -r /tmp/runtime.txt
COPY --chown=airflow:root pyproject.toml README.md /opt/sop/src/
COPY --chown=airflow:root sop_tasks /opt/sop/src/sop_tasks
RUN pip install --no-cache-dir --no-deps /opt/sop/src
