'use strict';
// Finds libtorch for the build and decides whether the build uses CUDA.
// Plain JavaScript: it runs during `npm install`, before TypeScript is compiled.
//
// Order (ARCHITECTURE.md): the LIBTORCH environment variable (a libtorch
// distribution or a torch package directory), the torch package of $PYTHON /
// python3 / python, the project's own virtualenv (scripts/python-env.js), and
// finally that virtualenv made now with pip: a CPU wheel unless CUDA is asked
// for (TORCHTS_CUDA=1). No downloads of our own.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const pythonEnv = require('./python-env');

const projectRoot = path.resolve(__dirname, '..');

/** libtorch cannot be had or cannot be used; the message names the problem and the fix. */
class LibtorchNotFound extends Error {
  constructor(tried, fix) {
    const lines = [
      'torchts could not find a usable libtorch (the C++ library of PyTorch). It looked at:',
      ...tried.map((line) => `  - ${line}`),
      '',
      ...(fix ? [fix] : [
        'Fix it with one of:',
        '  npm install                               # again, with python3 (and its venv module) installed: torchts installs torch itself',
        '  LIBTORCH=/path/to/libtorch npm install    # a libtorch zip from pytorch.org, unpacked',
        '  LIBTORCH=$(python3 -c "import torch,os;print(os.path.dirname(torch.__file__))") npm install',
      ]),
    ];
    super(lines.join('\n'));
    this.name = 'LibtorchNotFound';
  }
}

function hasCmakeConfig(root) {
  return fs.existsSync(path.join(root, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'));
}

// Accepts a libtorch root, a torch package dir, or a site-packages dir.
function normaliseRoot(candidate) {
  const resolved = path.resolve(candidate);
  if (hasCmakeConfig(resolved)) return resolved;
  const nested = path.join(resolved, 'torch');
  if (hasCmakeConfig(nested)) return nested;
  return null;
}

function readVersion(root) {
  const headers = [
    path.join(root, 'include', 'torch', 'headeronly', 'version.h'),
    path.join(root, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'version.h'),
  ];
  for (const header of headers) {
    if (!fs.existsSync(header)) continue;
    const text = fs.readFileSync(header, 'utf8');
    const part = (name) => (text.match(new RegExp(`#define TORCH_VERSION_${name} (\\d+)`)) || [])[1];
    if (part('MAJOR') !== undefined) return `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
  }
  const buildVersion = path.join(root, 'build-version');
  if (fs.existsSync(buildVersion)) return fs.readFileSync(buildVersion, 'utf8').trim();
  return 'unknown';
}

function isCudaLibtorch(root) {
  return fs.existsSync(path.join(root, 'lib', 'libtorch_cuda.so'));
}

function describe(root, source) {
  return { root, version: readVersion(root), cuda: isCudaLibtorch(root), source };
}

function pythonTorchDir(python) {
  const script = 'import os, torch; print(os.path.dirname(torch.__file__))';
  const result = spawnSync(python, ['-c', script], { encoding: 'utf8', timeout: 120_000 });
  if (result.error || result.status !== 0) return null;
  const lines = result.stdout.trim().split('\n');
  return lines[lines.length - 1] || null;
}

/** Shared libraries that `file` needs and the dynamic loader cannot find (via ldd). */
function missingSharedLibraries(file) {
  const result = spawnSync('ldd', [file], { encoding: 'utf8', timeout: 60_000 });
  if (result.error) return [];
  return [...`${result.stdout}`.matchAll(/^\s*(\S+)\s+=>\s+not found/gm)].map((m) => m[1]);
}

function isCudaToolkit(dir) {
  return fs.existsSync(path.join(dir, 'bin', 'nvcc')) && fs.existsSync(path.join(dir, 'include', 'cuda_runtime.h'));
}

/** The CUDA toolkit to build with: CUDA_HOME / CUDA_PATH (else /usr/local/cuda), or the one nvcc on PATH belongs to. */
function cudaToolkit(env = process.env) {
  const named = env.CUDA_HOME || env.CUDA_PATH;
  const candidates = [named || '/usr/local/cuda'];
  const which = spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8', env });
  if (which.status === 0 && which.stdout.trim()) candidates.push(path.dirname(path.dirname(fs.realpathSync(which.stdout.trim()))));
  return candidates.find(isCudaToolkit) || null;
}

/**
 * Decides CUDA or CPU for a found libtorch. Adds `build: 'cuda' | 'cpu'` and,
 * for a CPU build of a CUDA libtorch, `cpuReason`. Throws when the libtorch
 * cannot be used at all (its CUDA libraries are missing, or CUDA was asked
 * for and this libtorch has none).
 */
function decideBuild(found, cuda) {
  if (!found.cuda) {
    if (cuda === true) {
      throw new LibtorchNotFound(
        [`${found.source}: libtorch ${found.version} at ${found.root} is a CPU build`],
        'TORCHTS_CUDA=1 asks for CUDA. Fix: give a CUDA libtorch (LIBTORCH=/path npm install), or let torchts install one\n' +
          'into its own environment by removing the CPU torch it found (or unset TORCHTS_CUDA for a CPU build).',
      );
    }
    return { ...found, build: 'cpu' };
  }
  // A CUDA wheel's libtorch_cpu itself links libcudart and libcupti, so even
  // a CPU build of it needs those.
  const lib = (name) => path.join(found.root, 'lib', name);
  const fromPip = fs.existsSync(path.join(found.root, '__init__.py')); // a torch Python package, not a libtorch zip
  const reinstall = fromPip
    ? '  - a CUDA torch wheel needs its nvidia-* packages (pip installs them unless told --no-deps): reinstall it with them,\n' +
      `    python3 -m pip install --force-reinstall torch==${found.version}\n`
    : '  - install the CUDA runtime libraries named above (the CUDA toolkit of this libtorch\'s CUDA version)\n' +
      '    and put their folder on LD_LIBRARY_PATH\n';
  const useCpuTorch = fromPip
    ? '  - or uninstall that torch; `npm install` then installs a CPU wheel into torchts\' own environment'
    : '  - or use a CPU libtorch: LIBTORCH=/path/to/cpu/libtorch npm install';
  const cpuMissing = missingSharedLibraries(lib('libtorch_cpu.so'));
  if (cpuMissing.length > 0) {
    throw new LibtorchNotFound(
      [`${found.source}: libtorch ${found.version} at ${found.root} is a CUDA build; its libtorch_cpu.so needs libraries that are missing: ${cpuMissing.join(', ')}`],
      `Fix one of:\n${reinstall}${useCpuTorch}`,
    );
  }
  if (cuda === false) return { ...found, build: 'cpu', cpuReason: 'TORCHTS_CUDA=0 asks for a CPU build' };
  const missing = missingSharedLibraries(lib('libtorch_cuda.so'));
  if (missing.length > 0) {
    throw new LibtorchNotFound(
      [`${found.source}: libtorch ${found.version} at ${found.root} is a CUDA build whose CUDA libraries are missing: ${missing.join(', ')}`],
      `Fix one of:\n${reinstall}  - build for CPU from this libtorch: TORCHTS_CUDA=0 npm install\n${useCpuTorch}`,
    );
  }
  const toolkit = cudaToolkit();
  if (!toolkit) {
    if (cuda === true) {
      throw new LibtorchNotFound(
        [`${found.source}: CUDA libtorch ${found.version} at ${found.root}; no CUDA toolkit (nvcc) in CUDA_HOME, /usr/local/cuda or PATH`],
        'Building with CUDA needs the CUDA toolkit (nvcc and headers). Fix: install it (e.g. `apt-get install nvidia-cuda-toolkit`)\n' +
          'and set CUDA_HOME to it, or build for CPU: TORCHTS_CUDA=0 npm install',
      );
    }
    return {
      ...found,
      build: 'cpu',
      cpuReason: 'no CUDA toolkit (nvcc) in CUDA_HOME, /usr/local/cuda or PATH; install it and set CUDA_HOME, then `npm run build`, for CUDA',
    };
  }
  return { ...found, build: 'cuda', cudaToolkit: toolkit };
}

/** libtorch from LIBTORCH, a Python's torch, or the project env; null when none. */
function findExisting(tried, cuda) {
  if (process.env.LIBTORCH) {
    const root = normaliseRoot(process.env.LIBTORCH);
    if (root) return describe(root, 'LIBTORCH');
    // An explicit choice that is wrong must not be silently replaced.
    throw new LibtorchNotFound([
      `LIBTORCH=${process.env.LIBTORCH}: no share/cmake/Torch/TorchConfig.cmake there (nor in its torch/ subfolder)`,
    ]);
  }
  tried.push('LIBTORCH environment variable (not set)');
  const pythons = process.env.PYTHON ? [process.env.PYTHON] : ['python3', 'python'];
  for (const python of [...pythons, pythonEnv.venvPython()]) {
    const isProjectEnv = python === pythonEnv.venvPython();
    if (isProjectEnv && !fs.existsSync(python)) {
      tried.push(`${pythonEnv.venvDir()} (torchts' own environment: not made yet)`);
      continue;
    }
    const dir = pythonTorchDir(python);
    const label = isProjectEnv ? `torchts' own environment (${python})` : python;
    if (!dir) {
      tried.push(`\`${python} -c "import torch"\` (no torch package)`);
      continue;
    }
    const root = normaliseRoot(dir);
    if (!root) {
      tried.push(`${label}: torch at ${dir} has no share/cmake/Torch (not a full wheel?)`);
      continue;
    }
    const found = describe(root, `${label} torch package`);
    // Asked for CUDA: a CPU torch found on the way is skipped, not an error.
    if (cuda === true && !found.cuda && !isProjectEnv) {
      tried.push(`${label}: torch ${found.version} is a CPU build (TORCHTS_CUDA=1 asks for CUDA)`);
      continue;
    }
    return found;
  }
  return null;
}

/**
 * @param {{ allowPipInstall?: boolean }} [options]
 * @returns {{ root: string, version: string, cuda: boolean, source: string, build: 'cuda'|'cpu', cpuReason?: string }}
 */
function findLibtorch(options = {}) {
  let cuda;
  try {
    cuda = pythonEnv.cudaRequest();
  } catch (error) {
    throw new LibtorchNotFound(['TORCHTS_CUDA'], error.message);
  }
  const tried = [];
  const existing = findExisting(tried, cuda);
  if (existing) return decideBuild(existing, cuda);
  if (options.allowPipInstall === false) throw new LibtorchNotFound(tried);
  try {
    const python = pythonEnv.ensureProjectEnv({ cuda });
    const root = normaliseRoot(pythonTorchDir(python) || '');
    if (!root) throw new pythonEnv.PythonEnvError(`torch installed in ${pythonEnv.venvDir()} has no share/cmake/Torch`);
    return decideBuild(describe(root, `torchts' own environment (${python}) torch package`), cuda);
  } catch (error) {
    if (error instanceof pythonEnv.PythonEnvError) throw new LibtorchNotFound(tried, error.message);
    throw error;
  }
}

// Distributed support needs c10d's Gloo header in libtorch and gloo's own
// headers (Debian's libgloo-dev), which the torch wheel does not ship;
// CMakeLists.txt makes the same check.
function hasGlooSupport(root) {
  const c10dHeader = path.join(root, 'include', 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupGloo.hpp');
  const glooHeader = ['/usr/include', '/usr/local/include'].some((dir) => fs.existsSync(path.join(dir, 'gloo', 'algorithm.h')));
  return fs.existsSync(c10dHeader) && glooHeader;
}

module.exports = { findLibtorch, LibtorchNotFound, cudaToolkit, missingSharedLibraries, projectRoot, hasGlooSupport };

if (require.main === module) {
  // `node scripts/libtorch.js [--root|--cuda|--json] [--install]`: used by
  // binding.gyp, the tests and humans. Without --install it never runs pip.
  try {
    const found = findLibtorch({ allowPipInstall: process.argv.includes('--install') });
    if (process.argv.includes('--root')) process.stdout.write(found.root);
    else if (process.argv.includes('--cuda')) process.stdout.write(found.build === 'cuda' ? '1' : '0');
    else if (process.argv.includes('--gloo')) process.stdout.write(hasGlooSupport(found.root) ? '1' : '0');
    else console.log(JSON.stringify(found, null, 2));
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
