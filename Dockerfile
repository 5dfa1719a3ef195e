# syncer: a slim two-stage image that runs `syncer run` as a non-root user.
#   docker build -t syncer .
#   docker run -v $PWD/config:/config:ro -v syncer-state:/var/lib/syncer -p 9308:9308 syncer
# See docs/operations.md for compose and systemd examples.

# --- build: install syncer and its pinned dependencies into a virtualenv ----------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/syncer
WORKDIR /src
COPY pyproject.toml README.md ./
COPY syncer ./syncer
RUN /opt/syncer/bin/pip install .

# --- runtime: the virtualenv only, no compilers, no sources ------------------------------
FROM python:3.11-slim
RUN groupadd --system --gid 10001 syncer \
 && useradd --system --uid 10001 --gid syncer --home-dir /var/lib/syncer \
        --shell /usr/sbin/nologin syncer \
 && mkdir -p /config/ledgers /var/lib/syncer/backups \
 && chown -R syncer:syncer /var/lib/syncer \
 && chmod 0700 /var/lib/syncer /var/lib/syncer/backups
COPY --from=build /opt/syncer /opt/syncer

# Configuration (read-only) and state (state database + backups) are volumes.
ENV PATH=/opt/syncer/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SYNCER_LOG_FORMAT=json \
    SYNCER_CONFIG_PATH=/config/ledgers \
    SYNCER_STATE_URL=sqlite:////var/lib/syncer/state.db \
    SYNCER_BACKUP_DIR=/var/lib/syncer/backups \
    SYNCER_HTTP_HOST=0.0.0.0 \
    SYNCER_HTTP_PORT=9308
VOLUME ["/config", "/var/lib/syncer"]

USER syncer
WORKDIR /var/lib/syncer
EXPOSE 9308

# The image has no curl: probe /healthz with the interpreter it already ships.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SYNCER_HTTP_PORT', '9308'), timeout=4)" || exit 1

# SIGTERM lets running cycles finish before exit: give `docker stop` enough time
# (docker stop -t 120, or stop_grace_period in compose).
STOPSIGNAL SIGTERM
ENTRYPOINT ["syncer"]
CMD ["run"]
