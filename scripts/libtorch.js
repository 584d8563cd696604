'use strict';
// Finds libtorch for the build. Plain JavaScript: it runs during `npm install`,
// before TypeScript is compiled.
//
// Order (ARCHITECTURE.md): the LIBTORCH environment variable (a libtorch
// distribution or a torch package directory), the python3 `torch` package, a
// project-local torch installed by an earlier run, and finally `pip install
// --target .libtorch torch`. No downloads of our own.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const projectRoot = path.resolve(__dirname, '..');
const localTarget = path.join(projectRoot, '.libtorch');

class LibtorchNotFound extends Error {
  constructor(tried) {
    const lines = [
      'torchts could not find libtorch (the C++ library of PyTorch). It looked for:',
      ...tried.map((line) => `  - ${line}`),
      '',
      'Fix it with one of:',
      '  python3 -m pip install torch        # then run `npm install` again',
      '  LIBTORCH=/path/to/libtorch npm install   # a libtorch zip from pytorch.org, unpacked',
      '  LIBTORCH=$(python3 -c "import torch,os;print(os.path.dirname(torch.__file__))") npm install',
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

function describe(root, source) {
  const cuda = fs.existsSync(path.join(root, 'lib', 'libtorch_cuda.so'));
  return { root, version: readVersion(root), cuda, source };
}

function pythonCandidates() {
  const fromEnv = process.env.PYTHON ? [process.env.PYTHON] : [];
  return [...fromEnv, 'python3', 'python'];
}

function pythonTorchDir(python) {
  const script = 'import os, torch; print(os.path.dirname(torch.__file__))';
  const result = spawnSync(python, ['-c', script], { encoding: 'utf8', timeout: 120_000 });
  if (result.error || result.status !== 0) return null;
  const lines = result.stdout.trim().split('\n');
  return lines[lines.length - 1] || null;
}

function pipInstallLocal(python, tried) {
  const spec = process.env.TORCHTS_TORCH_SPEC || 'torch';
  console.error(`torchts: installing ${spec} with pip into ${localTarget} (one time, may take minutes)`);
  // --no-deps: the build needs only libtorch inside the wheel, not torch's
  // Python dependencies.
  const result = spawnSync(python, ['-m', 'pip', 'install', '--no-deps', '--target', localTarget, spec], {
    stdio: 'inherit',
    timeout: 30 * 60_000,
  });
  if (result.error || result.status !== 0) {
    tried.push(`\`${python} -m pip install --target ${localTarget} ${spec}\` (failed)`);
    return null;
  }
  return normaliseRoot(localTarget);
}

/**
 * @param {{ allowPipInstall?: boolean }} [options]
 * @returns {{ root: string, version: string, cuda: boolean, source: string }}
 */
function findLibtorch(options = {}) {
  const tried = [];
  if (process.env.LIBTORCH) {
    const root = normaliseRoot(process.env.LIBTORCH);
    if (root) return describe(root, 'LIBTORCH');
    // An explicit choice that is wrong must not be silently replaced.
    throw new LibtorchNotFound([
      `LIBTORCH=${process.env.LIBTORCH}: no share/cmake/Torch/TorchConfig.cmake there (nor in its torch/ subfolder)`,
    ]);
  }
  tried.push('LIBTORCH environment variable (not set)');

  let workingPython = null;
  for (const python of pythonCandidates()) {
    const dir = pythonTorchDir(python);
    if (dir) {
      const root = normaliseRoot(dir);
      if (root) return describe(root, `${python} torch package`);
      tried.push(`${python}: torch at ${dir} has no share/cmake/Torch (not a full wheel?)`);
    } else {
      tried.push(`\`${python} -c "import torch"\` (no torch package)`);
    }
    if (!workingPython && spawnSync(python, ['--version']).status === 0) workingPython = python;
  }

  const local = normaliseRoot(localTarget);
  if (local) return describe(local, 'project-local .libtorch');
  tried.push(`${localTarget} (empty)`);

  if (options.allowPipInstall !== false && workingPython) {
    const installed = pipInstallLocal(workingPython, tried);
    if (installed) return describe(installed, 'project-local .libtorch (pip)');
  } else if (!workingPython) {
    tried.push('python3 (not found, so pip could not install torch)');
  }
  throw new LibtorchNotFound(tried);
}

module.exports = { findLibtorch, LibtorchNotFound, projectRoot };

if (require.main === module) {
  // `node scripts/libtorch.js [--root|--json]`: used by binding.gyp and humans.
  try {
    const found = findLibtorch({ allowPipInstall: false });
    if (process.argv.includes('--root')) process.stdout.write(found.root);
    else if (process.argv.includes('--cuda')) process.stdout.write(found.cuda ? '1' : '0');
    else console.log(JSON.stringify(found, null, 2));
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
