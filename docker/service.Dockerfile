# The control service image (jobspecs/pyplay.nomad.hcl): the Sanic service with its proxy,
# talking to Nomad and Consul; it runs no sandboxes itself (PYPLAY_SCHEDULER=nomad).
#
# Build from the repository root, tagged with a fixed version, never latest:
#   docker build -f docker/service.Dockerfile -t pyplay/service:0.1.0 .
#   (no registry: --build-arg BASE=pyplay/debian:bookworm, see docs/operators.md)
# Only the service's packages and metadata are sent (service.Dockerfile.dockerignore).
# Python 3.11 on Debian 12, what the service is tested with (.venv: Debian's python3): the
# official slim image, or plain Debian 12 (scripts/docker/debian_base.sh), which gets
# Debian's own python3 below.
ARG BASE=python:3.11.2-slim-bookworm
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYPLAY_SCHEDULER=nomad \
    PYPLAY_LOG_FORMAT=json \
    HOME=/tmp

# The exact versions the service is tested with (docker/service-constraints.txt).
COPY setup.cfg pyproject.toml README.md docker/service-constraints.txt /src/
COPY app/ /src/app/
COPY common/ /src/common/
COPY proxy/ /src/proxy/
COPY scheduler/ /src/scheduler/
COPY sandbox/ /src/sandbox/
# BUILD_CA_CERTS: as in sandbox/Dockerfile, for a build machine behind a TLS-inspecting proxy.
ARG BUILD_CA_CERTS=""
RUN if ! command -v python3 >/dev/null; then \
      apt-get update \
      && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && if [ -n "$BUILD_CA_CERTS" ]; then \
      { cat /etc/ssl/certs/ca-certificates.crt; printf '%s\n' "$BUILD_CA_CERTS"; } > /tmp/build-ca.pem; \
      export PIP_CERT=/tmp/build-ca.pem; \
    fi \
 && python3 -m venv /opt/pyplay/venv \
 && /opt/pyplay/venv/bin/pip install --no-compile -c /src/service-constraints.txt /src \
 && rm -rf /src /tmp/build-ca.pem \
 && /opt/pyplay/venv/bin/python -m compileall -q /opt/pyplay/venv/lib \
 && /opt/pyplay/venv/bin/python -c "import app.server, scheduler.nomad"

# Never root; Nomad runs it with a read-only root file system and no capabilities.
USER 10001:10001
WORKDIR /tmp

# Students' port (WebSockets, /healthz, /readyz) and the internal listener (REST, /metrics).
EXPOSE 8000 8001

ENTRYPOINT ["/opt/pyplay/venv/bin/python", "-m", "app"]
