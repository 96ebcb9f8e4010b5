# syntax=docker/dockerfile:1
# Conveyor's container image (docs/deploy.md). Two stages:
#   build    debian:bookworm: the project's own scripts install the build dependencies and make the
#            Debian package, as on a bare machine (./scripts/install-deps --build-only, ./scripts/package);
#   runtime  debian:bookworm-slim: that .deb installed by apt, which resolves its shared libraries.
# The worker runs as an unprivileged user and is PID 1: SIGTERM drains it (SHUTDOWN_TIMEOUT); give
# the container longer than that to stop (docker stop -t, Compose's stop_grace_period).
#   docker build -t conveyor .
#   docker run --env-file .env conveyor              # conveyor work
#   docker run --env-file .env conveyor stats        # any other subcommand

FROM debian:bookworm AS build
WORKDIR /src
# git lets cmake/build_commit.cmake record the commit (conveyor --version, conveyor_build_info);
# .dockerignore keeps .git in the build context for it. Without either, the commit reads "unknown".
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/*
# The dependencies first, in a layer of their own that a source change does not rebuild.
COPY scripts/ scripts/
RUN ./scripts/install-deps --build-only
COPY . .
RUN ./scripts/package

FROM debian:bookworm-slim AS runtime
COPY --from=build /src/build-package/conveyor_*.deb /tmp/deb/
COPY deploy/docker/conveyor-healthcheck /usr/local/bin/conveyor-healthcheck
RUN apt-get update -qq \
 && cd /tmp/deb \
 && apt-get install -y -qq --no-install-recommends ./conveyor_*.deb \
 && cd / \
 && rm -rf /var/lib/apt/lists/* /tmp/deb \
 && (getent passwd conveyor >/dev/null \
     || useradd --system --uid 10001 --user-group --home-dir /var/lib/conveyor --shell /usr/sbin/nologin conveyor) \
 && install -d -o 10001 -g 10001 /var/lib/conveyor \
 && conveyor --version

# A numeric user, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
WORKDIR /var/lib/conveyor
# The admin listener stays on the default 127.0.0.1:9464 (loopback: no ADMIN_TOKEN needed): the
# health check runs inside the container and probes it there. Set ADMIN_LISTEN=0.0.0.0:9464 and
# ADMIN_TOKEN to scrape /metrics or probe from outside (Kubernetes does: deploy/kubernetes/).
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 CMD ["conveyor-healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["conveyor"]
CMD ["work"]
