#!/usr/bin/env node
// Makes Parley's native modules (keytar, better-sqlite3, better-sqlite3-multiple-ciphers) match the runtime
// that is about to load them:
//   node scripts/native-abi.mjs node      before tests, the CLI and the standalone relay (plain Node)
//   node scripts/native-abi.mjs electron  before `npm start` / `npm run dev` (Electron's own ABI)
// The ABI the binaries were last built for is recorded in node_modules/.parley-native-abi.json, so a rebuild
// happens only when the target changes (detected, not redone on every start). Packaged apps are unaffected:
// electron-builder rebuilds its own copy for the target platform.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const MODULES = ['keytar', 'better-sqlite3', 'better-sqlite3-multiple-ciphers'];
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const stampFile = path.join(root, 'node_modules', '.parley-native-abi.json');
const require = createRequire(path.join(root, 'package.json'));
const target = process.argv[2];

function readStamp() {
  try { return JSON.parse(readFileSync(stampFile, 'utf8')); } catch { return null; }
}
function writeStamp(stamp) { writeFileSync(stampFile, JSON.stringify(stamp, null, 2) + '\n'); }

/** Try loading each module under this Node; returns the names that fail because of an ABI mismatch. */
function mismatchedUnderNode() {
  const bad = [];
  for (const m of MODULES) {
    try {
      require(m);
    } catch (e) {
      const msg = String(e && e.message);
      if (/NODE_MODULE_VERSION|was compiled against a different Node\.js version|invalid ELF header|Could not locate the bindings file/.test(msg)) bad.push(m);
      else throw e;
    }
  }
  return bad;
}

if (target === 'node') {
  const bad = mismatchedUnderNode();
  if (bad.length) {
    console.log(`native: ${bad.join(', ')} built for another runtime; rebuilding for Node ${process.versions.node} (ABI ${process.versions.modules})`);
    execFileSync('npm', ['rebuild', ...bad], { cwd: root, stdio: 'inherit' });
    const still = mismatchedUnderNode();
    if (still.length) { console.error(`native: ${still.join(', ')} still fail to load under Node; see README "Native modules"`); process.exit(1); }
  }
  writeStamp({ runtime: 'node', abi: process.versions.modules, version: process.versions.node });
} else if (target === 'electron') {
  const electronVersion = require('electron/package.json').version;
  const stamp = readStamp();
  if (stamp && stamp.runtime === 'electron' && stamp.version === electronVersion) process.exit(0);
  if (!existsSync(path.join(root, 'node_modules', '@electron', 'rebuild'))) {
    console.error('native: @electron/rebuild is missing; run npm install'); process.exit(1);
  }
  console.log(`native: rebuilding ${MODULES.join(', ')} for Electron ${electronVersion}`);
  try {
    execFileSync('npx', ['electron-rebuild', '--force', '--version', electronVersion, '--only', MODULES.join(',')], { cwd: root, stdio: 'inherit' });
  } catch {
    console.error('native: the rebuild for Electron failed (it needs Electron headers from the network and a C++ toolchain).');
    process.exit(1);
  }
  writeStamp({ runtime: 'electron', version: electronVersion });
} else {
  console.error('usage: native-abi.mjs node|electron');
  process.exit(2);
}
