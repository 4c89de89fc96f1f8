# syntax=docker/dockerfile:1

# Node 24 LTS (maintained until April 2028; Node 20 reached its end of life in April 2026). package.json's
# engines still allow Node 20.19+ for local development.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: install everything, generate the Prisma client, compile src/ to dist/, the console to dist/console/ and the simulator to simulator/dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# The postinstall script generates the Prisma client, so it and the schema come before `npm ci`.
COPY package.json package-lock.json prisma.config.ts ./
COPY tools/prisma-generate.mjs ./tools/
COPY prisma ./prisma
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY simulator ./simulator
# The console (dist/console, served at /console) is built with the rest by `npm run build`.
COPY console ./console
RUN npm run build && npm run build:simulator

# ---- runtime: production dependencies, the compiled app and simulator, and the migrations ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the client is already generated and compiled into dist/, and the migrate command
# uses Prisma's wasm schema engine, so neither the Prisma CLI (a dev dependency) nor its native engines
# are needed at run time.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
# Compose's simulator service runs this image too (`node simulator/dist/main.js`); the relay never loads it.
COPY --from=build /app/simulator/dist ./simulator/dist
# schema.prisma and migrations/ are read by `node dist/cli/migrate.js`.
COPY prisma ./prisma
USER node
EXPOSE 3000
# Only the API serves HTTP; compose turns this off for the worker.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# A heap limit set at all makes V8 collect its old space from a modest size on: with the default (a quarter of the
# machine's memory) a busy process lets garbage pile up to 150 MB and more before its first full collection.
# The relay's live heap is about 50 MB; 512 MB is headroom, not a target (see docs/performance.md).
CMD ["node", "--max-old-space-size=512", "dist/main.js"]
