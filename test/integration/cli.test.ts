/**
 * The offline command line as a user runs it: the real `maskstream` binary in a child process
 * segments a generated clip of a person into PNGs, then evaluates them.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULTS } from '../../src/config.js';
import { readGrayPng } from '../../src/io/png.js';
import { projectRoot } from '../../src/paths.js';
import { writeClipY4m, type Box } from '../../src/testing/synthClip.js';
import { LOADED_MS } from '../helpers/waitFor.js';

const CLI = path.join(projectRoot(), 'dist/src/cli/maskstream.js');
const FRAMES = 8;
const W = 160;
const H = 120;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node maskstream.js …args` to completion (asynchronously: mocha's timeout keeps working).
 * A run still going after LOADED_MS is killed and reported as hanging (code null, "hung" in stderr).
 */
function run(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    // The CLI's own defaults (backend auto: ONNX Runtime on this CPU), whatever the caller's environment says.
    const env = { ...process.env };
    delete env['MASKSTREAM_BACKEND'];
    const child = spawn(process.execPath, [CLI, ...args], { cwd: projectRoot(), env });
    let stdout = '';
    let stderr = '';
    const hang = setTimeout(() => {
      stderr += `\n(test: still running after ${LOADED_MS} ms, killed: hung)`;
      child.kill('SIGKILL');
    }, LOADED_MS);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(hang);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A user error: exit 1, one line on stderr starting `maskstream:`, no stack trace. */
function expectUserError(r: Run, re: RegExp): void {
  expect(r.code, r.stderr).to.equal(1);
  expect(r.stdout).to.equal('');
  const lines = r.stderr.trimEnd().split('\n').filter((l) => !/TensorFlow\.js|^=+$|^$/.test(l));
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(/^maskstream: /);
  expect(lines[0]).to.match(re);
  expect(r.stderr).to.not.match(/^\s+at /m);
}

/** PNG header fields (IHDR): width, height, bit depth, colour type. */
function ihdr(file: string): [number, number, number, number] {
  const b = readFileSync(file);
  return [b.readUInt32BE(16), b.readUInt32BE(20), b[24]!, b[25]!];
}

describe('maskstream segment / eval (CLI in a child process)', function () {
  this.timeout(300_000);
  let dir: string;
  let clipPath: string;
  let boxes: Box[];
  let out: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'maskstream-cli-'));
    clipPath = path.join(dir, 'clip.y4m');
    out = path.join(dir, 'masks', 'nested'); // created by segment
    boxes = (await writeClipY4m(clipPath, { frames: FRAMES, width: W, height: H, fps: 30, speedPxPerFrame: 4, seed: 11 })).boxes;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('segment writes one 8-bit grayscale PNG per frame over the person, stdout empty', async () => {
    const r = await run('segment', '--input', clipPath, '--output', out);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('');
    // The default temporal mode and ring size come from the one config module, not from this test.
    const head = new RegExp(`maskstream segment: 8 frames 160×120 → .* \\(model meet, backend ort-cpu: onnxruntime-node [\\d.]+ CPUExecutionProvider, 1 thread, temporal ${DEFAULTS.temporal}, ring ${DEFAULTS.ringSize}\\): [\\d.]+ ms/frame segmenting`);
    expect(r.stderr, r.stderr).to.match(head);
    console.log(`      ${r.stderr.trim().split('\n').at(-1)}`);
    const files = readdirSync(out).sort();
    expect(files).to.deep.equal(Array.from({ length: FRAMES }, (_, i) => `${String(i).padStart(6, '0')}.png`));
    for (let i = 0; i < FRAMES; i++) {
      const f = path.join(out, files[i]!);
      expect(ihdr(f), files[i]).to.deep.equal([W, H, 8, 0]); // 160×120, 8-bit, colour type 0 (grayscale)
      const { data } = await readGrayPng(f);
      const b = boxes[i]!;
      // The bottom quarter of the pasted portrait, central 60 % of its width, is the person's
      // shoulders in every frame; outside the box there is only background.
      let torso = 0, torsoN = 0, fg = 0, fgIn = 0;
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const v = data[y * W + x]! >= 128;
          const inBox = x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h;
          if (x >= b.x + 0.2 * b.w && x < b.x + 0.8 * b.w && y >= b.y + 0.75 * b.h && inBox) {
            torsoN++;
            if (v) torso++;
          }
          if (v) {
            fg++;
            if (inBox) fgIn++;
          }
        }
      }
      expect(torso / torsoN, `frame ${i}: torso ≥ 128`).to.be.at.least(0.8);
      expect(fgIn / fg, `frame ${i}: foreground inside the person box`).to.be.at.least(0.85);
    }
  });

  it('eval of the masks against themselves: J = 1, F = 1, TE = 0, dtSSD = 0 (JSON and table)', async () => {
    const r = await run('eval', '--pred', out, '--gt', out, '--json');
    expect(r.code, r.stderr).to.equal(0);
    const m = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(m).to.deep.include({ frames: FRAMES, width: W, height: H, J: 1, F: 1, TE: 0, dtSSD: 0 });
    expect(m.perFrameJ).to.deep.equal(new Array(FRAMES).fill(1));
    const t = await run('eval', '--pred', out, '--gt', out);
    expect(t.code, t.stderr).to.equal(0);
    expect(t.stdout.split('\n').map((l) => l.split(/\s+/).slice(0, 2).join(' '))).to.include.members(['frames 8', 'J 1.0000', 'F 1.0000', 'TE 0.0000', 'dtSSD 0.0000']);
  });

  it('--limit stops early and warns about numbered PNGs left from an earlier run', async () => {
    const lim = path.join(dir, 'limited');
    mkdirSync(lim);
    writeFileSync(path.join(lim, '000009.png'), 'stale');
    const r = await run('segment', '--input', clipPath, '--output', lim, '--limit', '3', '--ring-size', '2');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/warning: .*limited also holds 1 numbered PNG\(s\) from an earlier, longer run/);
    expect(readdirSync(lim).sort()).to.deep.equal(['000000.png', '000001.png', '000002.png', '000009.png']);
    // …and eval names the first frame the two directories do not share.
    expectUserError(await run('eval', '--pred', out, '--gt', lim), /000003\.png is only in .*nested \(--pred has 8 PNGs, --gt 4\)/);
  });

  it('a file that is not Y4M: exit 1, one line naming the problem', async () => {
    const bad = path.join(dir, 'notes.y4m');
    writeFileSync(bad, 'just some text\n');
    expectUserError(await run('segment', '--input', bad, '--output', path.join(dir, 'x')), /notes\.y4m is not a YUV4MPEG2 file: it starts with "just some "/);
  });

  it('a truncated clip: exit 1 after the frames before it, naming the frame', async () => {
    const cut = path.join(dir, 'cut.y4m');
    const full = readFileSync(clipPath);
    writeFileSync(cut, full.subarray(0, full.length - 100));
    expectUserError(await run('segment', '--input', cut, '--output', path.join(dir, 'cut')), /frame 7 is truncated: 100 of its 28800 bytes are missing/);
  });

  it('bad flags, a missing input and an unknown command: exit 1, one line', async () => {
    expectUserError(await run('segment', '--input', clipPath, '--output', out, '--temporal', 'sideways'), /configuration error: --temporal: must be one of none/);
    expectUserError(await run('segment', '--input', clipPath, '--outptu', out), /unknown flag --outptu/);
    expectUserError(await run('segment', '--input', path.join(dir, 'nope.y4m'), '--output', out), /cannot read --input .*nope\.y4m: no such file/);
    expectUserError(await run('eval', '--pred', path.join(dir, 'nope'), '--gt', out), /cannot read --pred directory .*nope: no such directory/);
    expectUserError(await run('frobnicate'), /unknown command "frobnicate"/);
  });

  it('an --output that cannot be created: exit 1 with one line naming it, no hang, nothing written', async () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'not a directory\n');
    const dangling = path.join(dir, 'dangling');
    symlinkSync(path.join(dir, 'no', 'such', 'dir'), dangling);
    const cases: [string, RegExp][] = [
      [file, /cannot create --output directory .*a-file: .*a-file exists and is not a directory/],
      [path.join(file, 'masks'), /cannot create --output directory .*a-file\/masks: .*a part of the path is not a directory/],
      [path.join(dangling, 'masks'), /cannot create --output directory .*dangling\/masks: .*dangling is a link to something that does not exist/],
      ['', /--output must name a directory, got an empty value/],
    ];
    // Where mkdir answers ENOENT under a parent that exists, Node's recursive mkdir loops forever:
    // this is the case that made `segment` hang.
    if (existsSync('/proc/self')) cases.push(['/proc/maskstream-test/masks', /cannot create --output directory \/proc\/maskstream-test\/masks: \/proc\/maskstream-test: no such file or directory/]);
    for (const [output, re] of cases) {
      const t0 = performance.now();
      const r = await run('segment', '--input', clipPath, '--output', output);
      console.log(`      --output ${JSON.stringify(output)}: exit ${r.code} after ${(performance.now() - t0).toFixed(0)} ms: ${r.stderr.trim().split('\n').at(-1)}`);
      expectUserError(r, re);
    }
    expect(readdirSync(dir).filter((f) => /^\d+\.png$/.test(f)), 'no PNG written').to.deep.equal([]);
  });

  it('--help lists serve, segment and eval', async () => {
    const r = await run('--help');
    expect(r.code).to.equal(0);
    for (const c of ['serve', 'segment', 'eval']) expect(r.stdout).to.match(new RegExp(`^  ${c} `, 'm'));
    const s = await run('segment', '--help');
    expect(s.stdout).to.match(/--temporal <value>\s+temporal stage: none/);
  });
});
