# syncer: a slim two-stage image that runs `syncer run` as a non-root user.
#   docker build -t syncer .
#   docker run -v $PWD/config:/config:ro -v syncer-state:/var/lib/syncer -p 9308:9308 syncer
# See docs/operations.md for compose and systemd examples.

# The base image is pinned to an exact Python patch release, Debian release and the
# digest of its multi-architecture index, so a re-pushed tag cannot change the build.
# To move to a newer base, take the digest `docker buildx imagetools inspect <tag>`
# prints and pass it (or edit this line):
#   docker build --build-arg PYTHON_IMAGE=python:3.11.X-slim-bookworm@sha256:<digest> .
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# --- build: install syncer and its locked dependencies into a virtualenv ----------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/syncer
WORKDIR /src
# Every package (runtime dependencies and the build backend) at the version and hashes in
# requirements.lock (see docs/operations.md, "Dependency lock"); then syncer itself,
# without resolving anything again.
COPY requirements.lock ./
RUN /opt/syncer/bin/pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY syncer ./syncer
RUN /opt/syncer/bin/pip install --no-deps --no-build-isolation . \
 && /opt/syncer/bin/pip check

# --- runtime: the virtualenv only, no compilers, no sources ------------------------------
FROM ${PYTHON_IMAGE}
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
