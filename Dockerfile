# syntax=docker/dockerfile:1
# The ledger service image: multi-stage, Node 24 LTS, production dependencies only, proto/ and lua/
# included, running as the numeric user 10001 (Kubernetes' runAsNonRoot refuses an image whose
# USER is a name: it cannot tell that the name is not root). The same image runs the migrations,
# as the Helm chart's pre-install/pre-upgrade Job does.
#
# Build (from the repository root):
#   docker build -t ledger:0.1.0 .
# Run (Redis, Postgres and Kafka elsewhere; every variable: README "Configuration"):
#   docker run --rm -p 50051:50051 -p 9464:9464 \
#     -e LEDGER_REDIS_URL=redis://redis:6379/0 \
#     -e LEDGER_DATABASE_URL=postgres://ledger:secret@postgres:5432/ledger \
#     -e LEDGER_KAFKA_BROKERS=kafka:9092 \
#     -e OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4317 \
#     ledger:0.1.0
# Migrate (once per release, before the new version serves):
#   docker run --rm -e LEDGER_DATABASE_URL=postgres://ledger:secret@postgres:5432/ledger \
#     ledger:0.1.0 node dist/src/infrastructure/postgres/migrate.js
# Into k3s' containerd (no registry needed):
#   docker save ledger:0.1.0 | sudo k3s ctr images import -
#
# (This machine kind has no Docker engine: CI does not build the image; the chart's tests render
# and validate what runs it.)

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: all dependencies, generated code, compiled JavaScript ----------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci's postinstall applies patches/ (patch-package).
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json buf.yaml buf.gen.yaml ./
COPY proto ./proto
COPY src ./src
COPY migrations ./migrations
# scripts/generate-proto.sh's two steps: ts-proto code, and the descriptor set for reflection.
RUN npx buf generate \
  && npx buf build -o src/generated/ledger.binpb \
  && npx nest build

# --- deps: production dependencies only -------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# Full install first so that the postinstall (patch-package, a dev dependency) patches kafkajs;
# the prune then drops the dev dependencies and keeps the patched files.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev && npm cache clean --force

# --- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="ledger" \
      org.opencontainers.image.description="Event-sourced account ledger (gRPC, Redis Lua, Postgres, Kafka)"
ENV NODE_ENV=production
WORKDIR /app
# A numeric user with a passwd entry (Node's os.userInfo() and some libraries want one), no
# home, no shell. Everything under /app stays owned by root: the process cannot change its code,
# and the chart mounts the root filesystem read-only anyway.
RUN groupadd --system --gid 10001 ledger \
  && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
     --shell /usr/sbin/nologin ledger
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/src/generated/ledger.binpb ./src/generated/ledger.binpb
COPY package.json ./
COPY proto ./proto
COPY lua ./lua
USER 10001:10001
# gRPC (ledger.v1.LedgerService, health, reflection) and HTTP (/metrics, /health/live, /health/ready).
EXPOSE 50051 9464
ENV LEDGER_GRPC_ADDRESS=0.0.0.0:50051 LEDGER_HTTP_HOST=0.0.0.0
# Kubernetes stops with SIGTERM: NOT_SERVING, drain, flush relay and publisher, exit.
STOPSIGNAL SIGTERM
# The OpenTelemetry SDK is preloaded before Nest and grpc-js (as `npm run start:prod`).
CMD ["node", "--enable-source-maps", "--require", "./dist/src/instrumentation.js", "dist/src/main.js"]
