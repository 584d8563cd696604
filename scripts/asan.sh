#!/usr/bin/env bash
# Builds the addon with AddressSanitizer (its LeakSanitizer included) into
# build-asan/ and runs the tests that drive the native tensor, op, module,
# optimizer and serialization paths under it. Any invalid read/write, use
# after free or double free aborts the run with a report; leaks are reported
# for allocations made by torchts.node (Node, V8 and libtorch keep static
# allocations until exit, which test/asan.supp suppresses).
#
# Usage: bash scripts/asan.sh [tap test files...]
set -euo pipefail
cd "$(dirname "$0")/.."

ASAN_RUNTIME="$(g++ -print-file-name=libasan.so)"
if [ ! -f "$ASAN_RUNTIME" ]; then
  echo "asan.sh: no libasan.so for this g++ (apt-get install libasan8)" >&2
  exit 1
fi

BUILD_DIR="$PWD/build-asan"
if [ ! -f "$BUILD_DIR/Release/torchts.node" ] || [ -n "${ASAN_REBUILD:-}" ]; then
  TORCHTS_BUILD_DIR="$BUILD_DIR" TORCHTS_CMAKE_ARGS="-DTORCHTS_SANITIZE=address" TORCHTS_VERIFY_PRELOAD="$ASAN_RUNTIME" \
    node scripts/install.js
fi

TESTS=("$@")
if [ ${#TESTS[@]} -eq 0 ]; then
  TESTS=(test/tensor.test.ts test/autograd.test.ts test/memory.test.ts test/ops-parity.test.ts test/nn-modules.test.ts test/optim.test.ts test/safetensors.test.ts test/checkpoint-formats.test.ts)
fi

# Node installs its own SIGSEGV handler (WebAssembly bounds checks): let it.
export ASAN_OPTIONS="allow_user_segv_handler=1:detect_leaks=1:abort_on_error=1:halt_on_error=1:detect_odr_violation=0:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$PWD/test/asan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
export TORCHTS_ADDON="$BUILD_DIR/Release/torchts.node"
# Blocks kept by the caching CPU allocator are not poisoned, so ASan would
# miss a use after free inside them: let every block go back to malloc.
export TORCHTS_CPU_CACHE_LIMIT=0
export LD_PRELOAD="$ASAN_RUNTIME"
# One process at a time keeps reports readable.
exec npx tap --jobs=1 "${TESTS[@]}"
