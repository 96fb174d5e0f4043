# The Python 3.10 base of pyplay's images where no registry is reachable (build machines
# and CI here): Debian 12 made by scripts/docker/debian_base.sh (debootstrap + docker
# import), plus the relocatable copy of the very Python 3.10.13 the local gVisor sandboxes
# mount (build/sandbox/python, made by `scripts/build_sandbox_env.sh python`; its RUNPATH is
# $ORIGIN-relative, so it runs from /usr/local like the official image's own build).
# With a registry, the official python:3.10.13-slim-bookworm takes its place: both images
# pass BASE as a build argument (docs/operators.md).
#
# Build context: a directory holding python/ (scripts/docker/images.sh stages it).
ARG DEBIAN_IMAGE=pyplay/debian:bookworm
FROM ${DEBIAN_IMAGE}

ENV LANG=C.UTF-8

# What the official slim image keeps for its Python: the shared libraries the standard
# library's extension modules link against, CA certificates, netbase and tzdata.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates netbase tzdata \
      libbz2-1.0 libffi8 libgdbm6 liblzma5 libncursesw6 libreadline8 libsqlite3-0 libssl3 \
      libuuid1 zlib1g \
 && rm -rf /var/lib/apt/lists/*

COPY python/ /usr/local/

# python, python3 and pip as in the official image; ensurepip installs the pip wheel that
# ships inside this Python's own standard library (no download).
RUN ln -sf python3.10 /usr/local/bin/python3 \
 && ln -sf python3.10 /usr/local/bin/python \
 && python3 -m ensurepip --default-pip \
 && ln -sf pip3 /usr/local/bin/pip \
 && python -c "import ssl, sqlite3, ctypes, lzma, bz2, readline, zlib, uuid"

CMD ["python3"]
