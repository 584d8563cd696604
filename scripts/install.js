'use strict';
// `npm install` / `npm run build`: finds libtorch and compiles the addon with
// cmake-js, then loads it once to prove it works. Every failure ends with a
// message that says what went wrong and the command that fixes it.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { findLibtorch, LibtorchNotFound, projectRoot } = require('./libtorch');

function fail(message) {
  console.error(`\ntorchts install failed:\n${message}\n`);
  process.exit(1);
}

// CMake definitions for the device: a CPU build of a CUDA libtorch skips its
// CUDA targets; a CUDA libtorch from a pip wheel needs the CUDA
// toolkit for headers, and the wheel's own NVRTC (the toolkit's may differ).
function deviceDefinitions(libtorch) {
  if (libtorch.build !== 'cuda') return libtorch.cuda ? ['TORCHTS_CPU_ONLY=ON'] : [];
  const defs = [`CUDA_TOOLKIT_ROOT_DIR=${libtorch.cudaToolkit}`];
  const sitePackages = path.dirname(libtorch.root);
  for (const sub of ['cu13', 'cu12', 'cuda_nvrtc']) {
    const dir = path.join(sitePackages, 'nvidia', sub, 'lib');
    if (!fs.existsSync(dir)) continue;
    const nvrtc = fs.readdirSync(dir).find((name) => /^libnvrtc\.so\.\d+$/.test(name));
    if (nvrtc) {
      defs.push(`CUDA_nvrtc_LIBRARY=${path.join(dir, nvrtc)}`);
      break;
    }
  }
  if (!process.env.TORCH_CUDA_ARCH_LIST) process.env.TORCH_CUDA_ARCH_LIST = '8.0;9.0';
  return defs;
}

function firstLine(command, args) {
  const probe = spawnSync(command, args, { encoding: 'utf8' });
  return probe.error || probe.status !== 0 ? null : probe.stdout.split('\n')[0].trim();
}

// What to tell the user when cmake-js fails: the first error in its output is
// the cause; this names the tools found and the usual fixes for what is missing.
function buildFailureAdvice(libtorch) {
  const cmake = firstLine('cmake', ['--version']);
  const cxx = firstLine(process.env.CXX || 'g++', ['--version']);
  const lines = ['cmake-js could not configure or compile the addon: the first error in the output above is the cause.'];
  lines.push(`  cmake: ${cmake || 'NOT FOUND (`apt-get install cmake`; 3.18 or newer)'}`);
  lines.push(`  C++ compiler: ${cxx || 'NOT FOUND (`apt-get install g++`; C++20, g++ 10 or newer)'}`);
  if (libtorch.build === 'cuda') {
    lines.push(`  CUDA build: toolkit ${libtorch.cudaToolkit}; to build for CPU instead: TORCHTS_CUDA=0 npm run build`);
  }
  lines.push('Retry with `npm run build`.');
  return lines.join('\n');
}

function build(libtorch) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const outDir = process.env.TORCHTS_BUILD_DIR || path.join(projectRoot, 'build');
  const defs = [`LIBTORCH_ROOT=${libtorch.root}`, ...deviceDefinitions(libtorch)];
  // Extra CMake definitions, written as for cmake (-DNAME=VALUE); cmake-js
  // reads its own -D as another flag, so they are passed as --CDNAME=VALUE.
  const extra = (process.env.TORCHTS_CMAKE_ARGS || '')
    .split(/\s+/)
    .filter(Boolean)
    .map((arg) => (arg.startsWith('-D') ? `--CD${arg.slice(2)}` : arg));
  const args = [cmakeJs, 'build', '--out', outDir, '--parallel', String(Math.max(1, require('node:os').availableParallelism())),
    ...defs.map((d) => `--CD${d}`), ...extra];
  console.error(`torchts: building the addon against libtorch ${libtorch.version} (${libtorch.build === 'cuda' ? 'CUDA' : 'CPU'}) from ${libtorch.source}`);
  console.error(`torchts:   ${libtorch.root}`);
  if (libtorch.cpuReason) console.error(`torchts: building for CPU only although this libtorch has CUDA: ${libtorch.cpuReason}`);
  const started = Date.now();
  const result = spawnSync(process.execPath, args, { cwd: projectRoot, stdio: 'inherit' });
  if (result.status !== 0) fail(buildFailureAdvice(libtorch));
  const addon = path.join(outDir, 'Release', 'torchts.node');
  fs.writeFileSync(
    path.join(outDir, 'torchts-build.json'),
    JSON.stringify({ ...libtorch, addon, builtAt: new Date().toISOString(), seconds: (Date.now() - started) / 1000 }, null, 2),
  );
  return addon;
}

// Loads the addon in a child process: a broken build must fail here, not in
// the user's first import.
function verify(addon) {
  const probe = `const a = require(${JSON.stringify(addon)}); const b = a.buildInfo();
    console.log(JSON.stringify({ torch: b.torch, cudaCompiled: b.cudaCompiled, cudaDevices: a.cudaDeviceCount(), distributed: a.distSupport() }));`;
  // A sanitizer build loads only with its runtime preloaded (scripts/asan.sh sets this).
  const preload = process.env.TORCHTS_VERIFY_PRELOAD;
  const env = preload ? { ...process.env, LD_PRELOAD: preload, ASAN_OPTIONS: 'detect_leaks=0' } : process.env;
  const result = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env });
  if (result.status !== 0) {
    fail(`the addon was built but does not load:\n${result.stderr.trim()}\nRebuild with \`npm run build\`.`);
  }
  const info = JSON.parse(result.stdout.trim());
  const cuda = info.cudaCompiled
    ? `CUDA build, ${info.cudaDevices} device(s) visible${info.cudaDevices === 0 ? ' (CUDA unavailable here; CPU works)' : ''}`
    : 'CPU build';
  const distributed = info.distributed.available ? 'distributed: c10d/Gloo' : 'no distributed support: apt-get install libgloo-dev, then npm rebuild';
  console.error(`torchts: addon ready (libtorch ${info.torch}, ${cuda}; ${distributed})`);
}

function main() {
  if (process.env.TORCHTS_SKIP_BUILD === '1') {
    console.error('torchts: TORCHTS_SKIP_BUILD=1, not building the addon');
    return;
  }
  let libtorch;
  try {
    libtorch = findLibtorch();
  } catch (error) {
    if (error instanceof LibtorchNotFound) fail(error.message);
    throw error;
  }
  verify(build(libtorch));
}

main();
