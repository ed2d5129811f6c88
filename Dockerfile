# Multi-stage build of the ledger service: a small, non-root runtime image.
# (Not built in CI here: this machine kind has no Docker engine.)
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json buf.yaml buf.gen.yaml ./
COPY proto ./proto
COPY src ./src
COPY migrations ./migrations
RUN npx buf generate && npx buf build -o src/generated/ledger.binpb && npx nest build && npm prune --omit=dev

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/src/generated/ledger.binpb ./src/generated/ledger.binpb
COPY package.json ./
COPY proto ./proto
COPY lua ./lua
USER node
EXPOSE 50051 9464
ENV LEDGER_GRPC_ADDRESS=0.0.0.0:50051 LEDGER_HTTP_HOST=0.0.0.0
CMD ["node", "--enable-source-maps", "--require", "./dist/src/instrumentation.js", "dist/src/main.js"]
