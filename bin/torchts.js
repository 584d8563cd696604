#!/usr/bin/env node
'use strict';
// The `torchts` command (see lib/cli.ts). Runs the compiled TypeScript.
const fs = require('node:fs');
const path = require('node:path');

const compiled = path.join(__dirname, '..', 'dist', 'lib', 'cli.js');
if (!fs.existsSync(compiled)) {
  console.error("torchts: the TypeScript sources are not compiled (dist/ is missing): run 'npm run build:ts'");
  process.exit(1);
}
require(compiled)
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
