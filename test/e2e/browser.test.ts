/**
 * End to end in a real browser: Chromium's fake camera plays a clip of a person, the page
 * (dist/client) streams it to the in-process server, and masks come back.
 * Needs `npm run build` first (the server serves dist/client), /usr/bin/chromium and ffmpeg
 * (only when src/testing/synthClip.ts is not there to write the clip).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startServer } from '../../src/main.js';
import { projectRoot } from '../../src/paths.js';
import { createHash } from 'node:crypto';
import { decodeMask } from '../../src/shared/maskCodec.js';
import { composeMask } from '../../src/shared/maskCompose.js';
import { CHROMIUM_PATH, chromiumAvailable, launchChromium, type LaunchedChromium } from '../../src/testing/chromium.js';
import { LOADED_MS } from '../helpers/waitFor.js';

const run = promisify(execFile);

const CLIP = { width: 640, height: 480, fps: 30, seconds: 4 } as const;
const PERSON_IMAGE = '/usr/share/doc/opencv-doc/examples/data/messi5.jpg';
/** Masks counted after the first one: the stream must keep delivering them (counted, not timed). */
const MEASURE_MASKS = 60;
/**
 * Longest allowed pause between two of them, ms: continuity, not speed (≈ 100 ms between masks
 * quiet here, 250 ms with two busy loops on the 2 cores).
 */
const MAX_GAP_MS = 5000;

/** What the page exposes as window.__maskstream (client/testHooks.ts). */
interface PageHooks {
  state: string;
  masksReceived: number;
  maskTimes: number[];
  maskSeqs: number[];
  maskDropped: number[];
  lastTimings: Record<string, number> | null;
  e2eMs: number | null;
  errors: string[];
  matched: number;
  unmatched: number;
  misalignmentMs: number | null;
  mapping: Record<string, unknown>;
}

type RunningServer = Awaited<ReturnType<typeof startServer>>;

/**
 * A 640×480 30 fps y4m clip with a person: the colleague's synthetic clip writer when it
 * exists, else a slow pan over a photo of a football player, made with ffmpeg.
 */
async function writeClip(file: string): Promise<string> {
  // Imported by computed URL: the module may not exist yet, and then this test falls back.
  const synth = new URL('../../src/testing/synthClip.js', import.meta.url);
  if (existsSync(fileURLToPath(synth))) {
    const mod = (await import(synth.href)) as { writeClipY4m?: (p: string, o: object) => unknown };
    if (typeof mod.writeClipY4m === 'function') {
      await mod.writeClipY4m(file, { width: CLIP.width, height: CLIP.height, fps: CLIP.fps, frames: CLIP.fps * CLIP.seconds, speedPxPerFrame: 4, seed: 1 });
      return 'synthClip';
    }
  }
  // Scale up a little, then crop a window that drifts: the subject moves like on a webcam.
  const pan = `scale=720:540,crop=${CLIP.width}:${CLIP.height}:'40+40*sin(2*PI*t/${CLIP.seconds})':'30+30*sin(4*PI*t/${CLIP.seconds})',format=yuv420p`;
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-loop', '1', '-i', PERSON_IMAGE, '-vf', pan, '-r', String(CLIP.fps), '-t', String(CLIP.seconds), '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', file]);
  return 'ffmpeg';
}

function hooks(browser: LaunchedChromium): Promise<PageHooks> {
  return browser.page.evaluate(() => {
    const h = (window as unknown as { __maskstream: PageHooks }).__maskstream;
    return JSON.parse(JSON.stringify(h)) as PageHooks;
  });
}

describe('browser end to end (Chromium: fake camera, no camera, camera refused)', function () {
  this.timeout(300_000);
  let tmp: string | undefined;
  let clipPath = '';
  let server: RunningServer | undefined;
  let browser: LaunchedChromium | undefined;

  before(async () => {
    // Never skipped: a missing browser is a broken test machine, not a passing test.
    if (!chromiumAvailable()) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install chromium (or set CHROMIUM_PATH)`);
    if (!existsSync(path.join(projectRoot(), 'dist', 'client', 'index.html'))) throw new Error('dist/client is missing: run `node scripts/build-client.mjs` first');
    tmp = mkdtempSync(path.join(os.tmpdir(), 'maskstream-e2e-'));
    clipPath = path.join(tmp, 'person.y4m');
    const source = await writeClip(clipPath);
    console.log(`      clip: ${source}`);
  });

  afterEach(async () => {
    // Browser first (it says bye), then the server; each even if the other fails.
    try {
      await browser?.close();
    } finally {
      browser = undefined;
      await server?.close();
      server = undefined;
    }
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('streams masks continuously, shows latency and reports no errors', async () => {
    server = await startServer({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium({ clipPath });
    const { page } = browser;
    await page.goto(`http://127.0.0.1:${server.port}/?autostart=1`);

    await page.waitForFunction(
      () => ((window as unknown as { __maskstream?: { masksReceived: number } }).__maskstream?.masksReceived ?? 0) > 0,
      undefined,
      { timeout: LOADED_MS, polling: 100 },
    );
    const first = await hooks(browser);
    await page.waitForFunction(
      (n) => ((window as unknown as { __maskstream?: { masksReceived: number } }).__maskstream?.masksReceived ?? 0) >= n,
      first.masksReceived + MEASURE_MASKS,
      { timeout: LOADED_MS, polling: 100 },
    );
    const last = await hooks(browser);

    // The masks after the first one, from the page's own arrival times.
    const from = first.maskTimes[first.maskTimes.length - 1]!;
    const window = last.maskTimes.map((t, i) => ({ t, seq: last.maskSeqs[i]! })).filter((m) => m.t > from);
    const inWindow = window.map((m) => m.t);
    const rate = inWindow.length / ((inWindow.at(-1)! - from) / 1000);
    const gaps = inWindow.map((t, i) => t - (i === 0 ? from : inWindow[i - 1]!));
    const maxGap = Math.max(...gaps);
    console.log(`      masks: ${inWindow.length} at ${rate.toFixed(1)}/s (max gap ${maxGap.toFixed(0)} ms), ` +
      `e2e ${last.e2eMs?.toFixed(1)} ms, matched ${last.matched}/${last.matched + last.unmatched}, ` +
      `misalignment ${last.misalignmentMs?.toFixed(1)} ms, mapping ${JSON.stringify(last.mapping)}`);
    console.log(`      server timings: ${JSON.stringify(last.lastTimings)}`);

    expect(last.errors, 'page errors').to.deep.equal([]);
    expect(browser.consoleErrors, 'console errors').to.deep.equal([]);
    expect(last.state).to.equal('streaming');
    expect(inWindow.length, 'masks after the first').to.be.at.least(MEASURE_MASKS);
    expect(maxGap, 'longest gap between masks, ms').to.be.below(MAX_GAP_MS);
    for (let i = 1; i < window.length; i++) expect(window[i]!.seq, 'masks in sequence order').to.be.greaterThan(window[i - 1]!.seq);
    // What arrived, by the server's sequence numbers: every frame the session took in up to the
    // newest mask came back as a mask or is in the session's dropped count that mask carries (a
    // busy machine supersedes more frames; none may go missing). At least: the count may already
    // include newer frames superseded while the newest one was being segmented.
    expect(last.maskSeqs.length, 'every mask of the session recorded').to.equal(last.masksReceived);
    const newest = last.maskSeqs.length - 1;
    expect(last.maskSeqs.length + last.maskDropped[newest]!, `masks ${last.maskSeqs.length} + dropped ${last.maskDropped[newest]} vs frames taken in ${last.maskSeqs[newest]! + 1}`).to.be.at.least(last.maskSeqs[newest]! + 1);
    expect(last.e2eMs, 'end-to-end latency').to.be.a('number').and.to.be.above(0);

    // The HUD shows numbers (it refreshes every 250 ms).
    await page.waitForTimeout(300);
    const hud = await page.$$eval('[data-hud]', (els) => Object.fromEntries(els.map((e) => [(e as HTMLElement).dataset.hud!, e.textContent ?? ''])));
    for (const key of ['e2e', 'inference', 'server', 'decode']) expect(hud[key], `HUD ${key}`).to.match(/^\d+(\.\d+)? ms$/);
    expect(hud.maskFps, 'HUD mask fps').to.match(/^\d+(\.\d+)? \/s$/);
    expect(hud.cameraFps, 'HUD camera fps').to.match(/^\d+(\.\d+)? \/s$/);

    const artifacts = path.join(projectRoot(), 'artifacts');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'e2e-blur.png') });
  });

  it('draws each mask as composeMask does (the function segment and bench:quality use), detail layers of the crops included', async () => {
    server = await startServer({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium({ clipPath });
    const { page } = browser;
    await page.goto(`http://127.0.0.1:${server.port}/?autostart=1`);
    await page.waitForFunction(() => ((window as unknown as { __maskstream?: { masksReceived: number } }).__maskstream?.masksReceived ?? 0) > 0, undefined, { timeout: LOADED_MS, polling: 100 });
    let compared = 0;
    let withDetails = 0;
    // The person's crop is planned from the first mask on: masks with detail layers follow.
    for (let tries = 0; tries < 200 && (withDetails < 3 || compared < 5); tries++) {
      const snap = await page.evaluate(() => (window as unknown as { __maskstream: { snapshotMask: () => Promise<{ message: string; sha256: string; width: number; height: number } | null> } }).__maskstream.snapshotMask());
      if (snap) {
        const msg = decodeMask(Buffer.from(snap.message, 'base64'));
        const mine = composeMask(msg, snap.width, snap.height);
        expect(createHash('sha256').update(mine).digest('hex'), `mask ${msg.seq} (${msg.details.length} detail layers)`).to.equal(snap.sha256);
        compared++;
        if (msg.details.length) withDetails++;
      }
      await page.waitForTimeout(50);
    }
    console.log(`      compared ${compared} masks drawn by the page with composeMask, ${withDetails} with detail layers`);
    expect(withDetails, 'masks with detail layers').to.be.at.least(3);
    const provider = await page.$eval('[data-hud="provider"]', (e) => e.textContent ?? '');
    expect(provider).to.equal(server.engineInfo.provider);
  });

  for (const [camera, name, message] of [
    ['none', 'NotFoundError', /^No camera found — connect a camera/],
    ['denied', 'NotAllowedError', /^Camera permission denied — allow the camera for this site in the browser's site settings/],
  ] as const) {
    it(`${camera === 'none' ? 'without a camera' : 'with the camera permission denied'}: a clear message on the page, HUD state "error", no session`, async () => {
      server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'warn' });
      browser = await launchChromium({ clipPath, camera });
      const { page } = browser;
      await page.goto(`http://127.0.0.1:${server.port}/?autostart=1`);
      await page.waitForFunction(() => (window as unknown as { __maskstream?: { state: string } }).__maskstream?.state === 'error', undefined, { timeout: LOADED_MS, polling: 100 });
      const shown = await page.$eval('#message', (e) => ({ text: e.textContent ?? '', visible: !(e as HTMLElement).hidden && (e as HTMLElement).offsetHeight > 0 }));
      const hud = await page.$eval('[data-hud="state"]', (e) => e.textContent);
      const status = await page.$eval('#status', (e) => e.textContent ?? '');
      const h = await hooks(browser);
      console.log(`      ${camera}: "${shown.text}" (HUD state ${hud}; recorded ${JSON.stringify(h.errors)})`);
      expect(shown.visible, 'the message is on the page').to.equal(true);
      expect(shown.text).to.match(message);
      expect(shown.text, 'a sentence, not the browser\'s error name').to.not.contain(name);
      expect(hud, 'HUD state').to.equal('error');
      expect(status).to.match(/^error: /);
      // The browser's own error name stays available for a bug report (hooks and the console).
      expect(h.errors).to.have.length(1);
      expect(h.errors[0]).to.contain(name);
      expect(browser.consoleErrors.every((e) => e.includes(name)), `console errors: ${JSON.stringify(browser.consoleErrors)}`).to.equal(true);
      expect(server.registry.size, 'no session was opened').to.equal(0);
    });
  }
});
