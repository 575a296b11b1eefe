# Berth's registry service for docker-compose.yml: Debian 12 slim, the
# berth-fcgi worker pool under spawn-fcgi, as an unprivileged user. nginx
# runs in its own container (nginx-conf/berth.conf) and reaches the pool
# through a unix socket on a shared volume.
FROM debian:12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        gcc make libc6-dev pkg-config libfcgi-dev libssl-dev libjansson-dev \
        libcrypt-dev libyaml-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY core core
COPY fcgi fcgi
RUN make build/berth-fcgi build/berth

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        spawn-fcgi libfcgi0ldbl libssl3 libjansson4 libyaml-0-2 libcrypt1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10000 --user-group --home-dir /var/lib/registry berth \
    && mkdir -p /var/lib/registry /run/berth /etc/berth \
    && chown berth:berth /var/lib/registry /run/berth
COPY --from=build /src/build/berth-fcgi /src/build/berth /usr/local/bin/
USER berth
VOLUME /var/lib/registry
# -n: stay in the foreground as the container's process; SIGTERM (docker
# stop) lets requests in flight finish. The socket is 0666 because only
# the containers that share /run/berth can see it.
CMD ["spawn-fcgi", "-n", "-s", "/run/berth/berth.sock", "-M", "0666", "--", \
     "/usr/local/bin/berth-fcgi", "-c", "/etc/berth/config.yml", "-w", "4"]
