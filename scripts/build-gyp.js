'use strict';
// `npm run build:gyp`: builds build/Release/torchts.node with node-gyp from
// binding.gyp (the alternative to the cmake-js build; it replaces it), then
// loads it once to prove it works.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { findLibtorch, projectRoot } = require('./libtorch');

const libtorch = findLibtorch({ allowPipInstall: false });
console.error(`torchts: node-gyp build against libtorch ${libtorch.version} (${libtorch.cuda ? 'CUDA' : 'CPU'}) at ${libtorch.root}`);
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
const jobs = String(require('node:os').availableParallelism());
const build = spawnSync(process.execPath, [nodeGyp, 'rebuild', '--jobs', jobs], {
  cwd: projectRoot,
  stdio: 'inherit',
  env: { ...process.env, LIBTORCH: libtorch.root },
});
if (build.status !== 0) {
  console.error('\ntorchts: node-gyp build failed (see above). It needs python3, make and a C++20 g++.');
  process.exit(1);
}
const addon = path.join(projectRoot, 'build', 'Release', 'torchts.node');
const probe = spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(addon)}).buildInfo().torch)`], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.error(`torchts: the node-gyp build does not load:\n${probe.stderr}`);
  process.exit(1);
}
console.error(`torchts: node-gyp addon ready (libtorch ${probe.stdout.trim()})`);
