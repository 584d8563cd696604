'use strict';
// The project's own Python environment: a virtualenv (default `.torch-venv/`
// in this package) holding torch, numpy and safetensors. The install step makes
// it when no other libtorch is given and builds against its torch; the tests
// use it as their PyTorch reference when no other Python has all three.
// Plain JavaScript: it runs during `npm install`, before TypeScript is compiled.
//
// `node scripts/python-env.js --ensure` (npm's pretest) makes sure a reference
// Python exists; `--which` prints the one the tests will use.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const projectRoot = path.resolve(__dirname, '..');
const REFERENCE_MODULES = ['torch', 'numpy', 'safetensors'];

/** An install problem with a message that says what is wrong and how to fix it. */
class PythonEnvError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PythonEnvError';
  }
}

function venvDir() {
  return process.env.TORCHTS_VENV ? path.resolve(process.env.TORCHTS_VENV) : path.join(projectRoot, '.torch-venv');
}

function venvPython(dir = venvDir()) {
  return path.join(dir, 'bin', 'python');
}

/**
 * What the user asked for: true (TORCHTS_CUDA=1 or `npm install --torchts-cuda`),
 * false (TORCHTS_CUDA=0: a CPU build even from a CUDA libtorch), or null (not said).
 */
function cudaRequest(env = process.env) {
  const raw = env.TORCHTS_CUDA ?? env.npm_config_torchts_cuda;
  if (raw === undefined || raw === '') return null;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new PythonEnvError(`TORCHTS_CUDA=${raw} is not understood: use 1 (build with CUDA) or 0 (CPU only).`);
}

/** Extra pip arguments from TORCHTS_PIP_ARGS, e.g. `--index-url URL`. */
function extraPipArgs() {
  return (process.env.TORCHTS_PIP_ARGS || '').split(/\s+/).filter(Boolean);
}

function run(command, args, options = {}) {
  return spawnSync(command, args, { encoding: 'utf8', timeout: 10 * 60_000, ...options });
}

/** The first of $PYTHON, python3, python that runs, or null. */
function findBasePython() {
  const candidates = process.env.PYTHON ? [process.env.PYTHON] : ['python3', 'python'];
  for (const python of candidates) {
    const probe = run(python, ['-c', 'import sys; print(sys.version.split()[0])'], { timeout: 60_000 });
    if (!probe.error && probe.status === 0) return { python, version: probe.stdout.trim() };
  }
  return null;
}

/** Names among `modules` that `python` cannot import; null if python does not run. */
function missingModules(python, modules = REFERENCE_MODULES) {
  const script = `import importlib.util, json; print(json.dumps([m for m in ${JSON.stringify(modules)} if importlib.util.find_spec(m) is None]))`;
  const probe = run(python, ['-c', script], { timeout: 60_000 });
  if (probe.error || probe.status !== 0) return null;
  return JSON.parse(probe.stdout.trim().split('\n').pop());
}

function tail(text, lines = 12) {
  return (text || '').trim().split('\n').slice(-lines).join('\n');
}

function createVenv(basePython, dir) {
  console.error(`torchts: creating a Python virtualenv for torch in ${dir}`);
  const made = run(basePython, ['-m', 'venv', dir]);
  if (made.error || made.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new PythonEnvError(
      `\`${basePython} -m venv ${dir}\` failed:\n${tail(made.stderr || String(made.error))}\n\n` +
        'Python\'s venv module (with ensurepip) is needed to install torch for torchts.\n' +
        'Fix: `apt-get install python3-venv` (Debian/Ubuntu), then run `npm install` again.',
    );
  }
}

/** Versions of torch that pip can see, newest first (local labels such as +cpu kept). */
function visibleTorchVersions(python) {
  const listed = run(python, ['-m', 'pip', 'index', 'versions', 'torch', ...extraPipArgs()]);
  const text = `${listed.stdout}\n${listed.stderr}`;
  const match = text.match(/Available versions:\s*(.+)/);
  if (match) return match[1].split(',').map((v) => v.trim()).filter(Boolean);
  if (/No matching distribution|Could not find a version/i.test(text)) return [];
  throw new PythonEnvError(`\`${python} -m pip index versions torch\` failed:\n${tail(text)}`);
}

/**
 * The pip requirement for exactly this torch version. `torch==2.5.1` also
 * matches 2.5.1+cpu (PEP 440 ignores local labels), so a version without a
 * label is pinned with `===`, which compares the string itself.
 */
function exactTorch(version) {
  return version.includes('+') ? `torch==${version}` : `torch===${version}`;
}

/** Whether the wheel pip would install for `torch==version` is a CUDA build (it requires nvidia-* packages). */
function isCudaWheel(python, version) {
  if (/\+cpu$/.test(version)) return false;
  if (/\+cu\d+$/.test(version)) return true;
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-pip-')), 'report.json');
  try {
    const dry = run(python, ['-m', 'pip', 'install', '--dry-run', '--no-deps', '--quiet', '--report', report, ...extraPipArgs(), exactTorch(version)]);
    if (dry.status !== 0 || !fs.existsSync(report)) {
      throw new PythonEnvError(`pip could not resolve ${exactTorch(version)}:\n${tail(dry.stderr)}`);
    }
    const install = JSON.parse(fs.readFileSync(report, 'utf8')).install || [];
    const requires = (install[0] && install[0].metadata && install[0].metadata.requires_dist) || [];
    return requires.some((requirement) => /^nvidia-/i.test(requirement));
  } finally {
    fs.rmSync(path.dirname(report), { recursive: true, force: true });
  }
}

function noTorchWheelMessage(python) {
  return (
    `pip (${python}) sees no torch wheel for this Python and platform in its indexes.\n` +
    'Fix one of:\n' +
    '  - point pip at an index that has torch: TORCHTS_PIP_ARGS="--index-url URL" npm install\n' +
    '    (PyTorch\'s CPU wheels: https://download.pytorch.org/whl/cpu), or set pip\'s index in pip.conf;\n' +
    '  - give a libtorch yourself: LIBTORCH=/path/to/libtorch npm install'
  );
}

/**
 * The `torch==X` spec to install: a CPU wheel unless CUDA is asked for. `prefer`
 * (a version such as 2.13.0) is taken when a matching build of it is visible.
 */
function chooseTorchSpec(python, { cuda, prefer } = {}) {
  if (process.env.TORCHTS_TORCH_SPEC) return process.env.TORCHTS_TORCH_SPEC;
  const versions = visibleTorchVersions(python);
  if (versions.length === 0) throw new PythonEnvError(noTorchWheelMessage(python));
  const base = (v) => v.replace(/\+.*$/, '');
  const ordered = prefer ? [...versions.filter((v) => base(v) === base(prefer)), ...versions] : versions;
  if (cuda) {
    const candidate = ordered.find((v) => !/\+cpu$/.test(v));
    if (candidate && isCudaWheel(python, candidate)) return exactTorch(candidate);
    throw new PythonEnvError(
      `TORCHTS_CUDA=1 asks for a CUDA build of torch, but pip sees none (visible: ${versions.join(', ')}).\n` +
        'Fix: point pip at an index with CUDA wheels (TORCHTS_PIP_ARGS="--index-url URL"), or give a CUDA libtorch: LIBTORCH=/path npm install',
    );
  }
  const cpuLabelled = ordered.find((v) => /\+cpu$/.test(v));
  if (cpuLabelled) return exactTorch(cpuLabelled);
  const plain = ordered[0];
  if (!isCudaWheel(python, plain)) return exactTorch(plain);
  throw new PythonEnvError(
    `pip sees only CUDA builds of torch (${versions.join(', ')}); torchts installs a CPU build unless asked for CUDA.\n` +
      'Fix one of:\n' +
      '  - CPU: TORCHTS_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu" npm install\n' +
      '  - CUDA (with its nvidia-* libraries, about 3 GB, and the CUDA toolkit for the build): TORCHTS_CUDA=1 npm install\n' +
      '  - your own: LIBTORCH=/path/to/libtorch npm install',
  );
}

function pipInstall(python, specs) {
  const args = ['-m', 'pip', 'install', '--no-input', ...extraPipArgs(), ...specs];
  console.error(`torchts: ${python} ${args.join(' ')}`);
  const started = Date.now();
  const installed = spawnSync(python, args, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 60 * 60_000 });
  if (installed.error || installed.status !== 0) {
    throw new PythonEnvError(
      `pip could not install ${specs.join(' ')} into ${path.dirname(path.dirname(python))} (see pip's output above).\n` +
        'Fix the cause pip names (network, index, disk space), then run `npm install` again.',
    );
  }
  console.error(`torchts: installed ${specs.join(' ')} in ${Math.round((Date.now() - started) / 1000)} s`);
}

function torchVersionOf(python) {
  const probe = run(python, ['-c', 'import torch; print(torch.__version__)'], { timeout: 120_000 });
  return probe.status === 0 ? probe.stdout.trim().split('\n').pop() : null;
}

/**
 * Makes the project virtualenv hold torch, numpy and safetensors, creating it
 * from python3 when needed. Returns its python.
 */
function ensureProjectEnv({ cuda = null, preferTorch } = {}) {
  const dir = venvDir();
  const python = venvPython(dir);
  if (!fs.existsSync(python)) {
    const base = findBasePython();
    if (!base) {
      throw new PythonEnvError(
        'python3 was not found, so torchts cannot install torch (its libtorch) or the PyTorch reference for the tests.\n' +
          'Fix one of:\n' +
          '  - install Python 3 with venv: `apt-get install python3 python3-venv`, then `npm install` again;\n' +
          '  - give a libtorch yourself: LIBTORCH=/path/to/libtorch npm install (the tests still need python3 with torch).',
      );
    }
    createVenv(base.python, dir);
  }
  const missing = missingModules(python);
  if (missing === null) throw new PythonEnvError(`${python} does not run: delete ${dir} and run \`npm install\` again.`);
  if (missing.length === 0) return python;
  const specs = missing.map((name) => (name === 'torch' ? chooseTorchSpec(python, { cuda, prefer: preferTorch }) : name));
  pipInstall(python, specs);
  return python;
}

/** The Python the tests and benchmarks run PyTorch in: $PYTHON, the project env when it exists, else python3. */
function referencePython() {
  if (process.env.PYTHON) return process.env.PYTHON;
  const python = venvPython();
  return fs.existsSync(python) ? python : 'python3';
}

function builtTorchVersion() {
  const record = path.join(process.env.TORCHTS_BUILD_DIR || path.join(projectRoot, 'build'), 'torchts-build.json');
  try {
    return JSON.parse(fs.readFileSync(record, 'utf8')).version;
  } catch {
    return undefined;
  }
}

/**
 * For the tests: a Python with torch, numpy and safetensors. $PYTHON must have
 * them; otherwise the project env or python3 is used if complete, else the
 * project env is completed (torch of the addon's version where pip has it).
 */
function ensureReferencePython() {
  if (process.env.PYTHON) {
    const missing = missingModules(process.env.PYTHON);
    if (missing === null) throw new PythonEnvError(`PYTHON=${process.env.PYTHON} does not run.`);
    if (missing.length > 0) {
      throw new PythonEnvError(
        `PYTHON=${process.env.PYTHON} lacks ${missing.join(', ')}, which the PyTorch reference tests need.\n` +
          `Fix: \`${process.env.PYTHON} -m pip install ${missing.join(' ')}\`, or unset PYTHON to let torchts make its own environment.`,
      );
    }
    return process.env.PYTHON;
  }
  const project = venvPython();
  if (fs.existsSync(project) && missingModules(project)?.length === 0) return project;
  if (!fs.existsSync(project) && missingModules('python3')?.length === 0) return 'python3';
  return ensureProjectEnv({ cuda: false, preferTorch: builtTorchVersion() });
}

module.exports = {
  PythonEnvError,
  REFERENCE_MODULES,
  cudaRequest,
  chooseTorchSpec,
  ensureProjectEnv,
  ensureReferencePython,
  findBasePython,
  missingModules,
  referencePython,
  torchVersionOf,
  venvDir,
  venvPython,
};

if (require.main === module) {
  try {
    if (process.argv.includes('--which')) {
      console.log(referencePython());
    } else if (process.argv.includes('--ensure')) {
      const python = ensureReferencePython();
      console.error(`torchts: PyTorch reference for the tests: ${python} (torch ${torchVersionOf(python)})`);
    } else {
      console.error('usage: node scripts/python-env.js --ensure | --which');
      process.exit(2);
    }
  } catch (error) {
    if (!(error instanceof PythonEnvError)) throw error;
    console.error(`\ntorchts: ${error.message}\n`);
    process.exit(1);
  }
}
