// What a user sees when the install step cannot get a usable libtorch:
// scripts/libtorch.js is run as `npm install` runs it, in a faked environment
// (no python3; a pip index without torch, or with only a CUDA wheel; a CUDA
// libtorch without its CUDA libraries or without the CUDA toolkit). Every
// message must name the problem and the command that fixes it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';

const script = path.join(__dirname, '..', 'scripts', 'libtorch.js');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-install-'));
t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));

/** Variables that would let the script find a real torch or pip index; the tests set their own. */
const HIDDEN = [/^PYTHON$/, /^LIBTORCH$/, /^TORCHTS_/, /^PIP_/, /^CUDA_/, /^npm_config_torchts/, /^VIRTUAL_ENV$/];

function runLibtorchScript(args: string[], env: Record<string, string>) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !HIDDEN.some((pattern) => pattern.test(name))));
  const result = spawnSync(process.execPath, [script, ...args], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...base, TORCHTS_VENV: path.join(root, 'never-made-venv'), PYTHONNOUSERSITE: '1', ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function compileSharedLibrary(output: string, source: string, links: string[] = []): void {
  const sourceFile = `${output}.c`;
  fs.writeFileSync(sourceFile, source);
  const built = spawnSync('gcc', ['-shared', '-fPIC', '-o', output, sourceFile, ...links], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`gcc failed: ${built.stderr}`);
}

/** A shared library in `lib` that needs `lib/lib<dependency>.so`, which is then deleted. */
function libraryNeedingDeleted(lib: string, name: string, dependency: string): void {
  const dependencyFile = path.join(lib, `lib${dependency}.so`);
  compileSharedLibrary(dependencyFile, `int ${dependency}(void) { return 1; }\n`);
  compileSharedLibrary(path.join(lib, name), `int ${dependency}(void);\nint uses_it(void) { return ${dependency}(); }\n`, [`-L${lib}`, `-l${dependency}`]);
  fs.rmSync(dependencyFile);
}

/**
 * A directory that looks like a CUDA libtorch 9.8.7 to scripts/libtorch.js;
 * `missing` makes libtorch_cuda.so (or also libtorch_cpu.so) need a deleted library.
 */
function fakeCudaLibtorch(name: string, missing: 'none' | 'cuda' | 'cpu'): string {
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, 'share', 'cmake', 'Torch'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '# fake\n');
  fs.mkdirSync(path.join(dir, 'include', 'torch', 'headeronly'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'include', 'torch', 'headeronly', 'version.h'),
    '#define TORCH_VERSION_MAJOR 9\n#define TORCH_VERSION_MINOR 8\n#define TORCH_VERSION_PATCH 7\n',
  );
  const lib = path.join(dir, 'lib');
  fs.mkdirSync(lib);
  if (missing === 'none') compileSharedLibrary(path.join(lib, 'libtorch_cuda.so'), 'int fake_cuda(void) { return 1; }\n');
  else libraryNeedingDeleted(lib, 'libtorch_cuda.so', 'torchts_fake_nvrtc');
  if (missing === 'cpu') libraryNeedingDeleted(lib, 'libtorch_cpu.so', 'torchts_fake_cudart');
  else compileSharedLibrary(path.join(lib, 'libtorch_cpu.so'), 'int fake_cpu(void) { return 1; }\n');
  return dir;
}

/** A Python without torch: a bare virtualenv (no pip), so a torch in the system Python stays out of sight. */
function bareBasePython(): string {
  const dir = path.join(root, 'base-python');
  if (!fs.existsSync(dir)) {
    const made = spawnSync('python3', ['-m', 'venv', '--without-pip', dir], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`python3 -m venv failed: ${made.stderr}`);
  }
  return path.join(dir, 'bin', 'python');
}

/** A virtualenv with pip and nothing else, for asking pip what it would install. */
function pipOnlyPython(): string {
  const dir = path.join(root, 'pip-python');
  if (!fs.existsSync(dir)) {
    const made = spawnSync(bareBasePython(), ['-m', 'venv', dir], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`python -m venv failed: ${made.stderr}`);
  }
  return path.join(dir, 'bin', 'python');
}

/** A wheel with only metadata, so pip can list and resolve it without any download. */
function writeMetadataWheel(dir: string, version: string, requires: string[]): void {
  const python = bareBasePython();
  const wheel = path.join(dir, `torch-${version}-py3-none-any.whl`);
  const info = `torch-${version.replace(/\+/g, '_')}.dist-info`;
  const metadata = ['Metadata-Version: 2.1', 'Name: torch', `Version: ${version}`, ...requires.map((r) => `Requires-Dist: ${r}`), ''].join('\n');
  const program = [
    'import sys, zipfile',
    'wheel, info, metadata = sys.argv[1:4]',
    "with zipfile.ZipFile(wheel, 'w') as z:",
    "    z.writestr('torch/__init__.py', '')",
    "    z.writestr(info + '/METADATA', metadata)",
    "    z.writestr(info + '/WHEEL', 'Wheel-Version: 1.0\\nGenerator: torchts-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')",
    "    z.writestr(info + '/RECORD', '')",
  ].join('\n');
  const written = spawnSync(python, ['-c', program, wheel, info, metadata], { encoding: 'utf8' });
  if (written.status !== 0) throw new Error(`writing ${wheel} failed: ${written.stderr}`);
}

/** pip settings that see only `findLinks` (no config files, no network index). */
function pipSeeingOnly(findLinks: string): Record<string, string> {
  const emptyIndex = path.join(root, 'empty-index');
  fs.mkdirSync(emptyIndex, { recursive: true });
  return {
    PIP_CONFIG_FILE: os.devNull,
    PIP_INDEX_URL: `file://${emptyIndex}`,
    PIP_FIND_LINKS: findLinks,
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_CACHE_DIR: '1',
  };
}

t.test('no python3 at all: names python3 and how to install it, or LIBTORCH', (t) => {
  const result = runLibtorchScript(['--install', '--json'], { PATH: path.join(root, 'empty-bin') });
  t.equal(result.status, 1, 'exits 1');
  t.match(result.stderr, /python3 was not found/);
  t.match(result.stderr, /apt-get install python3 python3-venv/);
  t.match(result.stderr, /LIBTORCH=\/path\/to\/libtorch npm install/);
  t.notMatch(result.stderr, /at .*\.js:\d+/, 'no stack trace');
  t.end();
});

t.test('pip sees no torch wheel: names the index and LIBTORCH as fixes', (t) => {
  const wheels = path.join(root, 'no-wheels');
  fs.mkdirSync(wheels);
  const result = runLibtorchScript(['--install', '--json'], {
    PYTHON: bareBasePython(),
    TORCHTS_VENV: path.join(root, 'venv-no-wheel'),
    ...pipSeeingOnly(wheels),
  });
  t.equal(result.status, 1, 'exits 1');
  t.match(result.stderr, /sees no torch wheel/);
  t.match(result.stderr, /TORCHTS_PIP_ARGS="--index-url URL" npm install/);
  t.match(result.stderr, /LIBTORCH=\/path\/to\/libtorch npm install/);
  t.end();
});

t.test('pip sees only a CUDA wheel: no CUDA wheel is installed unasked; the message offers CPU and CUDA', (t) => {
  const wheels = path.join(root, 'cuda-wheel-only');
  fs.mkdirSync(wheels);
  writeMetadataWheel(wheels, '9.8.7', ['nvidia-cuda-nvrtc-cu12==12.8.93']);
  const venv = path.join(root, 'venv-cuda-only');
  const result = runLibtorchScript(['--install', '--json'], { PYTHON: bareBasePython(), TORCHTS_VENV: venv, ...pipSeeingOnly(wheels) });
  t.equal(result.status, 1, 'exits 1');
  t.match(result.stderr, /pip sees only CUDA builds of torch \(9\.8\.7\)/);
  t.match(result.stderr, /--index-url https:\/\/download\.pytorch\.org\/whl\/cpu/);
  t.match(result.stderr, /TORCHTS_CUDA=1 npm install/);
  const installed = spawnSync(path.join(venv, 'bin', 'python'), ['-c', 'import torch'], { encoding: 'utf8' });
  t.not(installed.status, 0, 'torch was not installed into the venv');
  t.end();
});

t.test('a CPU wheel is chosen over a CUDA build of the same version', (t) => {
  const wheels = path.join(root, 'cpu-and-cuda-wheels');
  fs.mkdirSync(wheels);
  writeMetadataWheel(wheels, '9.8.7', ['nvidia-cuda-nvrtc-cu12==12.8.93']);
  writeMetadataWheel(wheels, '9.8.7+cpu', []);
  const program = `const env = require(${JSON.stringify(path.join(__dirname, '..', 'scripts', 'python-env.js'))});
    process.stdout.write(env.chooseTorchSpec(process.argv[1], {}) + ' ' + env.chooseTorchSpec(process.argv[1], { cuda: true }));`;
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !HIDDEN.some((pattern) => pattern.test(name))));
  const result = spawnSync(process.execPath, ['-e', program, pipOnlyPython()], {
    encoding: 'utf8',
    env: { ...base, ...pipSeeingOnly(wheels) },
  });
  t.equal(result.status, 0, result.stderr);
  t.equal(result.stdout, 'torch==9.8.7+cpu torch===9.8.7', 'CPU unless asked; the CUDA build when TORCHTS_CUDA=1');
  t.end();
});

t.test('a CUDA libtorch whose CUDA libraries are missing: names them, and the fixes', (t) => {
  const libtorch = fakeCudaLibtorch('cuda-missing-libs', 'cuda');
  const result = runLibtorchScript(['--json'], { LIBTORCH: libtorch });
  t.equal(result.status, 1, 'exits 1');
  t.match(result.stderr, /is a CUDA build whose CUDA libraries are missing: libtorchts_fake_nvrtc\.so/);
  t.match(result.stderr, /LD_LIBRARY_PATH/);
  t.match(result.stderr, /TORCHTS_CUDA=0 npm install/);

  const cpu = runLibtorchScript(['--json'], { LIBTORCH: libtorch, TORCHTS_CUDA: '0' });
  t.equal(cpu.status, 0, `TORCHTS_CUDA=0 builds it for CPU: ${cpu.stderr}`);
  t.match(JSON.parse(cpu.stdout), { build: 'cpu', cuda: true, cpuReason: /TORCHTS_CUDA=0/ });
  t.end();
});

t.test('a CUDA libtorch whose libtorch_cpu needs missing CUDA runtime libraries: no CPU build offered', (t) => {
  const libtorch = fakeCudaLibtorch('cpu-missing-libs', 'cpu');
  for (const cuda of ['', '0']) {
    const result = runLibtorchScript(['--json'], { LIBTORCH: libtorch, TORCHTS_CUDA: cuda });
    t.equal(result.status, 1, `TORCHTS_CUDA=${cuda}: exits 1`);
    t.match(result.stderr, /its libtorch_cpu\.so needs libraries that are missing: libtorchts_fake_cudart\.so/);
    t.match(result.stderr, /LD_LIBRARY_PATH/);
    t.match(result.stderr, /LIBTORCH=\/path\/to\/cpu\/libtorch npm install/);
    t.notMatch(result.stderr, /TORCHTS_CUDA=0 npm install/, 'a CPU build of it would not load either');
  }
  t.end();
});

t.test('a CUDA libtorch without the CUDA toolkit: a CPU build with the reason, or a stop when CUDA is asked for', (t) => {
  const libtorch = fakeCudaLibtorch('cuda-no-toolkit', 'none');
  const noToolkit = { LIBTORCH: libtorch, CUDA_HOME: path.join(root, 'no-cuda-here'), PATH: '/usr/bin:/bin' };
  const result = runLibtorchScript(['--json'], noToolkit);
  t.equal(result.status, 0, result.stderr);
  t.match(JSON.parse(result.stdout), { version: '9.8.7', cuda: true, build: 'cpu', cpuReason: /no CUDA toolkit \(nvcc\)/ });

  const asked = runLibtorchScript(['--json'], { ...noToolkit, TORCHTS_CUDA: '1' });
  t.equal(asked.status, 1, 'TORCHTS_CUDA=1 stops');
  t.match(asked.stderr, /no CUDA toolkit \(nvcc\)/);
  t.match(asked.stderr, /set CUDA_HOME/);
  t.match(asked.stderr, /TORCHTS_CUDA=0 npm install/);
  t.end();
});

t.test('an unusable LIBTORCH is an error, not silently replaced', (t) => {
  const result = runLibtorchScript(['--json'], { LIBTORCH: path.join(root, 'not-a-libtorch') });
  t.equal(result.status, 1);
  t.match(result.stderr, /LIBTORCH=.*not-a-libtorch: no share\/cmake\/Torch\/TorchConfig\.cmake/);
  t.end();
});

t.test('an unknown TORCHTS_CUDA value is named', (t) => {
  const result = runLibtorchScript(['--json'], { TORCHTS_CUDA: 'maybe' });
  t.equal(result.status, 1);
  t.match(result.stderr, /TORCHTS_CUDA=maybe is not understood: use 1 .* or 0/);
  t.end();
});
