#!/usr/bin/env bash
# GPU build, checks and benchmarks, in one call on a machine with python3 +
# CUDA torch, nvcc, cmake and ninja, but no Node and no network. Carry the
# .device/ folder made by bench/device/prepare.sh. Budget: under 8 minutes.
#
#   1. unpack Node and node_modules; build the addon against this machine's torch (CUDA)
#   2. run the CUDA-only tests
#   3. ResNet-18 cifar-stem train step, batch 512, bf16 + channels_last: torchts vs PyTorch eager
#   4. train the 'gpu' preset for a few epochs: time per epoch and test accuracy
#
# DRY_RUN=1 skips the GPU-only parts (for checking the script on a CPU machine).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/torchts-device}"
mkdir -p "$OUT"
EPOCHS="${EPOCHS:-6}"
start=$SECONDS
step() { printf '\n== %s (%d s)\n' "$*" $((SECONDS - start)) | tee -a "$OUT/summary.txt"; }
fail() { echo "device.sh: $*" | tee -a "$OUT/summary.txt"; exit 1; }

step "unpack Node $(test -f .device/node.xz && echo ok || echo MISSING) and node_modules"
if ! command -v node >/dev/null || [ -n "${FORCE_CARRIED_NODE:-}" ]; then
  mkdir -p /tmp/node/bin && xz -dc .device/node.xz > /tmp/node/bin/node && chmod +x /tmp/node/bin/node || fail "cannot unpack .device/node.xz (run bench/device/prepare.sh here first)"
  export PATH="/tmp/node/bin:$PATH"
fi
[ -d node_modules ] || tar xJf .device/modules.tar.xz || fail "cannot unpack .device/modules.tar.xz"
node --version

step "build the addon against $(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null)"
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
node scripts/install.js 2>&1 | tail -n 25 | tee "$OUT/build.txt" || fail "build failed"
node -e "const a=require('./build/Release/torchts.node'); console.log('libtorch', a.buildInfo().torch, 'cuda compiled', a.buildInfo().cudaCompiled, 'devices', a.cudaDeviceCount())" | tee -a "$OUT/summary.txt"

if [ -z "${DRY_RUN:-}" ]; then
  step "CUDA tests"
  npx tap --disable-coverage test/cuda.test.ts test/data-loader.test.ts 2>&1 | tail -n 30 | tee "$OUT/cuda-tests.txt"

  step "train step benchmark (GPU)"
  node -r ts-node/register/transpile-only bench/gpu-step.ts 2>&1 | tee -a "$OUT/summary.txt"
fi

if [ -f .device/cifar10-jpg.tar.gz ]; then
  step "gpu preset, $EPOCHS epochs"
  device_flag=""
  [ -n "${DRY_RUN:-}" ] && device_flag="--device cpu --epochs 1 --stem imagenet --batch-size 256 --amp off"
  node -r ts-node/register/transpile-only lib/cli.ts train --data .device/cifar10-jpg.tar.gz --preset gpu --epochs "$EPOCHS" \
    --run-dir /tmp/torchts-gpu-run --cache-dir /tmp/torchts-cache $device_flag 2>&1 | grep -v '^\s*$' | tail -n 40 | tee "$OUT/train.txt"
  cp /tmp/torchts-gpu-run/metrics.jsonl "$OUT/" 2>/dev/null
  cp /tmp/torchts-gpu-run/curves.png "$OUT/" 2>/dev/null
fi
step "done"
