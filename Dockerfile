# syntax=docker/dockerfile:1
# One image for both roles: the API (default CMD) and the worker
# (command: node dist/worker/main.js). The model is not baked in; mount it at /models.
# bookworm (glibc), not alpine: sharp's prebuilt libvips (@img/sharp-linux-*) and
# onnxruntime-node's bundled CPU binaries are built for glibc.
# Node 24 (Active LTS); the service also runs on Node 22, and on 20 (end of life, April 2026).
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: all deps, compile TypeScript to dist/ ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# onnxruntime-node's postinstall would fetch GPU binaries from outside the npm registry; the CPU
# binaries we use ship inside the package. package.json's allowScripts denies it on npm 11.16+;
# the variable covers an older npm.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY tsconfig*.json ./
COPY src ./src
RUN npm run build

# --- prod-deps: runtime dependencies only ---
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
# HOST: every interface of the container (npm start's default is loopback); publish the port to choose who reaches it.
ENV NODE_ENV=production MODEL_DIR=/models PORT=5000 HOST=0.0.0.0
# Files stay root-owned: the app only reads them, so the node user cannot modify its own code.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# ImageNet labels, written beside a model the worker fetches (MODEL_URL).
COPY assets ./assets
# The web page at / (read by the API at start-up).
COPY public ./public
# package.json is needed at runtime: its "type": "module" makes dist/*.js load as ESM.
COPY package.json ./
USER node
EXPOSE 5000
# Liveness of the API via node itself (the slim image has no curl). The worker
# serves no /healthz (at most /metrics), so compose disables this healthcheck for it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/healthcheck.js"]
# node runs as PID 1 directly (not via npm) so it receives SIGTERM and shuts down gracefully.
CMD ["node", "dist/api/main.js"]
