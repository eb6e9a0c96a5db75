#!/usr/bin/env node
/**
 * Runs @doyensec/electronegativity over the built app in out/ and FAILS when
 *   - the build is missing (run `npm run build` first),
 *   - the tool reports any parse error, tolerable or not (its parser is old and reports "no issues" about files it
 *     could not read; its CSV mode even drops the parse errors silently, so we use its runner API, which returns them),
 *   - the tool crashes or loads fewer checks than expected,
 *   - it reports a finding that scripts/electronegativity-allow.json does not justify.
 * Allow-list entries match on check + file (+ a substring of the flagged code) and must say why.
 * Usage: node scripts/electronegativity.mjs [dir]   (default out/; npm test runs it after the build)
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(path.join(root, 'package.json'));
const out = path.resolve(process.argv[2] ?? path.join(root, 'out'));
const allowFile = path.join(root, 'scripts', 'electronegativity-allow.json');

function fail(msg) {
  console.error(`electronegativity: FAIL: ${msg}`);
  process.exit(1);
}

if (!process.argv[2]) {
  for (const f of ['main/index.js', 'preload/index.js', 'renderer/index.html']) {
    if (!existsSync(path.join(out, f))) fail(`out/${f} is missing: run \`npm run build\` first`);
  }
}

const electronVersion = require('electron/package.json').version;
const pkgDir = path.dirname(require.resolve('@doyensec/electronegativity/package.json'));
const toolVersion = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
const run = require(path.join(pkgDir, 'dist', 'runner.js'));

const log = console.log;
let result;
try {
  console.log = () => {}; // the runner chats about fetching Electron releases (there is no network here)
  result = await run(
    {
      input: out,
      output: undefined,
      isSarif: false,
      customScan: [],
      excludeFromScan: [],
      isRelative: true,
      isVerbose: true,
      electronUpgrade: undefined,
      electronVersionOverride: electronVersion,
      parserPlugins: [],
    },
    false,
  );
} catch (e) {
  console.log = log;
  fail(`electronegativity crashed: ${e && e.stack ? e.stack : e}`);
}
console.log = log;

if (!result || !Array.isArray(result.issues) || !Array.isArray(result.errors)) fail('unexpected result from the electronegativity runner');
if (result.atomicChecks < 30 || result.globalChecks < 5) fail(`only ${result.atomicChecks} atomic / ${result.globalChecks} global checks loaded`);
if (result.errors.length) {
  const lines = result.errors.map((e) => `${path.relative(out, e.file)}: ${e.message}${e.tolerable ? ' (tolerable)' : ''}`);
  fail(`the parser could not read part of the build, so it was not checked:\n  ${lines.join('\n  ')}`);
}

const findings = result.issues.map((i) => ({
  check: i.id,
  severity: i.severity && i.severity.name ? i.severity.name : String(i.severity && i.severity.value),
  file: i.file,
  location: `${i.location ? i.location.line : '?'}:${i.location ? i.location.column : '?'}`,
  sample: typeof i.sample === 'string' ? i.sample : '',
  description: i.description,
}));

const allow = JSON.parse(readFileSync(allowFile, 'utf8'));
if (!Array.isArray(allow)) fail('scripts/electronegativity-allow.json must be an array');
for (const a of allow) {
  if (!a.check || !a.file || typeof a.why !== 'string' || a.why.length < 20) fail(`allow-list entry needs check, file and a real "why": ${JSON.stringify(a)}`);
}
const used = new Set();
const unjustified = [];
for (const f of findings) {
  const i = allow.findIndex((a) => a.check === f.check && a.file === f.file && (!a.contains || f.sample.includes(a.contains)));
  if (i < 0) unjustified.push(f);
  else used.add(i);
}
console.log(
  `electronegativity ${toolVersion} over ${path.relative(root, out) || '.'} (Electron ${electronVersion}, ${result.atomicChecks} atomic + ${result.globalChecks} global checks): ` +
    `${findings.length} finding(s), ${findings.length - unjustified.length} justified, 0 parse errors`,
);
for (const [i, a] of allow.entries()) if (!used.has(i)) console.log(`  note: allow-list entry not needed any more: ${a.check} ${a.file} ${a.contains ?? ''}`);
if (unjustified.length) {
  for (const f of unjustified) console.error(`  ${f.severity} ${f.check} ${f.file}:${f.location} ${f.sample.slice(0, 160)}\n    ${f.description}`);
  fail(`${unjustified.length} finding(s) not justified in scripts/electronegativity-allow.json: fix them or justify them there`);
}
console.log('electronegativity: OK');
