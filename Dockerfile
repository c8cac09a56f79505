# xcon MTA image: one emulated Exchange 5.5 MTA per container.
# BASE_IMAGE defaults to the official Node image; on a machine with no registry, build a local one
# first with scripts/build-offline-base-image.sh and pass --build-arg BASE_IMAGE=xcon-node-base:20.
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages/core/package.json packages/core/
COPY packages/mta/package.json packages/mta/
COPY packages/cli/package.json packages/cli/
# Dependencies first (a layer that survives source changes); compile once the sources are in.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages packages
RUN npx tsc -b && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf packages/*/src packages/*/tsconfig.json packages/*/dist/*.tsbuildinfo

FROM ${BASE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production \
    XCON_DATA_DIR=/data \
    XCON_TOPOLOGY=/app/examples/docker-site.yaml \
    XCON_ADMIN_HOST=0.0.0.0 \
    XCON_ADMIN_PORT=7100 \
    XCON_PORT=7000
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages packages
COPY examples examples
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 7000 7100
HEALTHCHECK --interval=5s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.XCON_ADMIN_PORT + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node handles SIGTERM itself (clean closedown, 9299); compose adds an init (init: true) to reap and forward.
# The Node flags local MTAs get (MTA_NODE_FLAGS in packages/cli/src/local-site.ts: a 4 MB young
# generation, about 10 MB less resident memory each; four times V8's interrupt budget and one V8
# background thread, together about 45 % less CPU per association in a site of many MTAs).
ENTRYPOINT ["node", "--max-semi-space-size=4", "--interrupt-budget=270336", "--v8-pool-size=1", "/app/packages/mta/dist/main.js"]
