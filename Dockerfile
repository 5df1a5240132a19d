# slaprobe agent image: Node 24 LTS on Debian slim, non-root, ICMP through iputils ping.
# Build: docker build -t slaprobe .
# Run:   docker run -p 9917:9917 -v $PWD/config.yaml:/etc/slaprobe/config.yaml:ro \
#          -v slaprobe-data:/var/lib/slaprobe slaprobe
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the image's own Node 24 compiles; the project's `node` devDependency
# (which brings Node 24 to machines that lack it) is not needed here.
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
# iputils-ping carries the cap_net_raw file capability, so the non-root user can ping as long
# as the container keeps NET_RAW (Docker's default set does; Kubernetes: add NET_RAW, see
# deploy/kubernetes). Alternative without the capability: the sysctl
# net.ipv4.ping_group_range="0 2147483647" on the pod/container lets ping use ICMP sockets.
# tzdata: the contracts' calendars read the system's zone database (installed or upgraded here
# to Debian's newest, normally newer than the one in Node's ICU, and 7 MiB lighter to read).
RUN apt-get update \
 && apt-get install -y --no-install-recommends iputils-ping tzdata ca-certificates libcap2-bin \
 && setcap cap_net_raw+ep /usr/bin/ping \
 && apt-get purge -y libcap2-bin && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 slaprobe \
 && useradd --system --uid 10001 --gid slaprobe --home-dir /var/lib/slaprobe --shell /usr/sbin/nologin slaprobe \
 && mkdir -p /etc/slaprobe /var/lib/slaprobe && chown slaprobe:slaprobe /var/lib/slaprobe
WORKDIR /opt/slaprobe
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
COPY config/default.yaml /etc/slaprobe/config.yaml
USER slaprobe:slaprobe
VOLUME ["/var/lib/slaprobe"]
# 9917: metrics and health; 8622/udp: the udp-echo reflector, when configured.
EXPOSE 9917 8622/udp
ENV NODE_ENV=production
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9917/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/opt/slaprobe/dist/cli.js"]
CMD ["run", "--config", "/etc/slaprobe/config.yaml", "--listen", "0.0.0.0:9917", "--data-dir", "/var/lib/slaprobe"]
