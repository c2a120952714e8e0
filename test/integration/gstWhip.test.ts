/**
 * WHIP interoperability with a second, independent WebRTC stack: GStreamer's webrtcbin (libnice
 * ICE, GStreamer's DTLS-SRTP and rtpbin, libvpx / x264 encoders) publishes a clip of a person to
 * /whip from its own process (test/integration/gst/whip_publish.py, Debian's python3-gst-1.0),
 * and this test reads the session's masks on a subscriber WebSocket like any WHIP user would.
 * VP8 with every candidate in the offer, H.264 constrained baseline with candidates trickled by
 * PATCH; each ends with the publisher's DELETE.
 *
 * Behaviour, not speed (CI machines are small and busy): masks must come for most frames of the
 * stream (counted by RTP timestamp: the publisher sends one frame every 3000 ticks), lie over the
 * person, and the session must be gone after DELETE. The mask rate is printed, not asserted.
 * Missing GStreamer parts fail the test (never skipped): `.ci/run` installs them.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../src/main.js';
import { projectRoot } from '../../src/paths.js';
import { writeClipY4m, type Box } from '../../src/testing/synthClip.js';
import { decodeMask, type MaskMessage } from '../../src/shared/maskCodec.js';
import { maskOverlap } from '../helpers/maskOverlap.js';

const TOKEN = 'gst-test-token-0123456789abcdef';
/** Debian's interpreter: python3-gst-1.0 installs the gi bindings for it only (not for a pyenv or venv python). */
const PYTHON = process.env.MASKSTREAM_GST_PYTHON ?? '/usr/bin/python3';
const SCRIPT = path.join(projectRoot(), 'test', 'integration', 'gst', 'whip_publish.py');
const CLIP = { width: 640, height: 480, fps: 30, frames: 90 } as const;
/** RTP ticks between frames: 90 kHz clock, 30 fps. */
const TICKS_PER_FRAME = 90000 / CLIP.fps;
/** Masks to collect per run (5 s of a 30 fps stream), and how long that may take on a busy machine, ms. */
const MASKS_WANTED = 150;
const COLLECT_TIMEOUT_MS = 60_000;
const APT_HINT = 'apt-get install python3-gst-1.0 gir1.2-gst-plugins-bad-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-nice (.ci/run does)';

/** One JSON line of the publisher's stdout. */
interface PublisherEvent {
  readonly event: string;
  readonly [k: string]: unknown;
}

interface ReceivedMask {
  readonly msg: MaskMessage;
  /** performance.now() at receipt, ms. */
  readonly at: number;
}

/** The publisher process: its events as they come, and waits on them. */
class GstPublisher {
  readonly events: PublisherEvent[] = [];
  stderr = '';
  exit: { code: number | null; signal: string | null } | undefined;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly exited: Promise<void>;

  constructor(args: string[]) {
    this.child = spawn(PYTHON, [SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let buffered = '';
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === '') continue;
        try {
          this.events.push(JSON.parse(line) as PublisherEvent);
        } catch {
          this.events.push({ event: 'unparsed', line });
        }
      }
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-8000)));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => {
      this.exit = { code, signal };
      resolve();
    }));
  }

  find(event: string): PublisherEvent | undefined {
    return this.events.find((e) => e.event === event);
  }

  /** Resolves with the first event named `event`; rejects on an `error` event, exit or timeout. */
  async waitFor(event: string, ms: number): Promise<PublisherEvent> {
    const end = Date.now() + ms;
    for (;;) {
      const found = this.find(event);
      if (found) return found;
      const error = this.find('error');
      if (error) throw new Error(`publisher: ${String(error.message)}\n${this.stderr}`);
      if (this.exit) throw new Error(`publisher exited (${JSON.stringify(this.exit)}) before "${event}"\n${this.stderr}`);
      if (Date.now() > end) throw new Error(`no "${event}" from the publisher within ${ms} ms\n${this.stderr}`);
      await sleep(50);
    }
  }

  /** Asks it to DELETE the session and exit; resolves when it has exited. */
  async stop(ms: number): Promise<void> {
    if (!this.exit) this.child.stdin.end('stop\n');
    await Promise.race([this.exited, sleep(ms)]);
    if (!this.exit) throw new Error(`publisher still running ${ms} ms after "stop"\n${this.stderr}`);
  }

  /** Never leaves the process behind (afterEach). */
  async kill(): Promise<void> {
    if (this.exit) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitUntil(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(50);
  }
  return cond();
}

/** A sample of /metrics, by exact series text (`name` or `name{labels}`). */
async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(url + '/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

/** Mean x of the mask's foreground (alpha ≥ 128), mask px; NaN without foreground. */
function centroidX(msg: MaskMessage): number {
  let n = 0, sum = 0;
  for (let y = 0; y < msg.height; y++) {
    for (let x = 0; x < msg.width; x++) {
      if (msg.alpha[y * msg.width + x]! >= 128) {
        n++;
        sum += x;
      }
    }
  }
  return sum / n;
}

/** maskstream_frames_dropped_total by reason, from /metrics. */
async function dropsByReason(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(url + '/metrics')).text();
  return Object.fromEntries([...text.matchAll(/^maskstream_frames_dropped_total\{reason="([a-z_]+)"\} (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** Forward distance from RTP timestamp a to b (mod 2^32). */
function rtpDelta(a: number, b: number): number {
  return (b - a) >>> 0;
}

describe('GStreamer webrtcbin publishing over WHIP (second WebRTC stack)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let tmp: string;
  let clipPath: string;
  let boxes: Box[];
  let publisher: GstPublisher | undefined;
  let subscriber: WebSocket | undefined;

  before(async () => {
    // Never skipped: a missing GStreamer is a broken test machine, not a passing test.
    const check = spawnSync(PYTHON, [SCRIPT, '--check'], { encoding: 'utf8' });
    if (check.error) throw new Error(`cannot run ${PYTHON} (${check.error.message}); set MASKSTREAM_GST_PYTHON or ${APT_HINT}`);
    if (check.status !== 0) throw new Error(`GStreamer publisher not usable with ${PYTHON}: ${(check.stdout + check.stderr).trim().slice(-600)}\n${APT_HINT}`);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'maskstream-gst-'));
    clipPath = path.join(tmp, 'person.y4m');
    boxes = (await writeClipY4m(clipPath, { ...CLIP, speedPxPerFrame: 4, seed: 21 })).boxes;
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'warn', whipToken: TOKEN, maxSessions: 2 });
  });

  afterEach(async () => {
    subscriber?.terminate();
    subscriber = undefined;
    await publisher?.kill();
    publisher = undefined;
    server.registry.closeAll('shutdown');
    await waitUntil(() => server.registry.size === 0, 5000);
  });

  after(async () => {
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const runs = [
    { codec: 'vp8', trickle: false, what: 'VP8, every candidate in the offer' },
    { codec: 'h264', trickle: true, what: 'H.264 constrained baseline, candidates trickled by PATCH' },
  ] as const;

  for (const run of runs) {
    it(`${run.what}: masks for most frames, over the person; DELETE ends the session`, async () => {
      const endedBefore = await metric(server.url, 'maskstream_sessions_ended_total{reason="bye"}');
      const dropsBefore = await dropsByReason(server.url);
      publisher = new GstPublisher([
        '--endpoint', server.url + '/whip', '--token', TOKEN, '--codec', run.codec, '--clip', clipPath,
        ...(run.trickle ? ['--trickle'] : []),
      ]);
      const created = await publisher.waitFor('created', 30_000);
      const location = String(created.location);
      expect(location).to.match(/\/whip\/sessions\/[0-9a-f-]{36}$/);
      expect(created.answer_codecs, 'the answer keeps the offered codec (and its RTX)').to.include(run.codec === 'vp8' ? 'VP8' : 'H264');
      const sessionId = location.split('/').pop()!;
      expect(server.registry.get(sessionId)?.signaling).to.equal('whip');

      // The masks of a WHIP session: the Location with /whip/sessions/ → /sessions/, plus /masks.
      const masks: ReceivedMask[] = [];
      const badMasks: string[] = [];
      let subscriberClose: { code: number; reason: string } | undefined;
      const ws = new WebSocket(location.replace(/^http/, 'ws').replace('/whip/sessions/', '/sessions/') + '/masks', { headers: { Authorization: `Bearer ${TOKEN}` } });
      subscriber = ws;
      ws.on('message', (data: Buffer, binary: boolean) => {
        if (!binary) return;
        try {
          masks.push({ msg: decodeMask(data), at: performance.now() });
        } catch (e) {
          badMasks.push((e as Error).message);
        }
      });
      ws.on('close', (code, reason) => (subscriberClose = { code, reason: reason.toString() }));
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));

      await publisher.waitFor('first_rtp', 30_000);
      const collected = await waitUntil(() => masks.length >= MASKS_WANTED || publisher!.find('error') !== undefined || publisher!.exit !== undefined, COLLECT_TIMEOUT_MS);
      expect(publisher.find('error'), publisher.stderr).to.equal(undefined);
      expect(collected && masks.length >= MASKS_WANTED, `${masks.length} masks within ${COLLECT_TIMEOUT_MS} ms`).to.equal(true);
      expect(server.registry.size).to.equal(1);

      await publisher.stop(20_000);
      expect(publisher.find('deleted')?.status, 'DELETE answered').to.equal(200);
      expect(publisher.exit, publisher.stderr).to.deep.equal({ code: 0, signal: null });
      expect(publisher.find('error'), publisher.stderr).to.equal(undefined);
      expect(publisher.events.filter((e) => e.event === 'state').map((e) => e.connection), 'webrtcbin connected').to.include('connected');
      if (run.trickle) {
        const patches = publisher.events.filter((e) => e.event === 'patch');
        expect(patches.length, 'candidates trickled').to.be.greaterThan(0);
        expect(patches.map((p) => p.status)).to.satisfy((s: unknown[]) => s.every((x) => x === 204));
        expect(patches.some((p) => p.end === true), 'end-of-candidates sent').to.equal(true);
      }

      // DELETE ended the session on the server: registry, gauge, end reason, subscriber told.
      expect(await waitUntil(async () => server.registry.size === 0 && (await metric(server.url, 'maskstream_sessions_active')) === 0, 10_000), 'sessions back to 0').to.equal(true);
      expect(await metric(server.url, 'maskstream_sessions_ended_total{reason="bye"}')).to.equal(endedBefore + 1);
      expect(await waitUntil(() => subscriberClose !== undefined, 5000)).to.equal(true);
      expect(subscriberClose).to.deep.equal({ code: 1000, reason: 'bye' });

      // Every mask decodes, in order, at the model's mask size.
      expect(badMasks).to.deep.equal([]);
      const first = masks[0]!;
      const last = masks[masks.length - 1]!;
      for (let i = 1; i < masks.length; i++) {
        expect(masks[i]!.msg.seq).to.be.greaterThan(masks[i - 1]!.msg.seq);
        const d = rtpDelta(masks[i - 1]!.msg.rtpTimestamp, masks[i]!.msg.rtpTimestamp);
        expect(d > 0 && d % TICKS_PER_FRAME === 0, `RTP timestamps advance by whole frames (${d} ticks)`).to.equal(true);
      }
      for (const m of masks) {
        expect(m.msg.width).to.equal(server.engineInfo.maskWidth);
        expect(m.msg.height).to.equal(server.engineInfo.maskHeight);
      }
      // Most frames sent got a mask: the publisher's payloaded frames (by RTP timestamp) between
      // the first and the last mask. (Frames its encoder never got to, on a busy machine, are not sent.)
      const stats = publisher.find('deleted')!;
      const sent = stats.rtp_timestamps as number[];
      const span = rtpDelta(first.msg.rtpTimestamp, last.msg.rtpTimestamp);
      const sentInSpan = sent.filter((ts) => rtpDelta(first.msg.rtpTimestamp, ts) <= span).length;
      const masked = new Set(masks.map((m) => m.msg.rtpTimestamp));
      expect([...masked].every((ts) => sent.includes(ts)), 'every mask is for a frame the publisher sent').to.equal(true);
      const share = masks.length / sentInSpan;
      const seconds = (last.at - first.at) / 1000;
      const rate = (masks.length - 1) / seconds;
      console.log(`      GStreamer ${run.codec}${run.trickle ? ' (trickle)' : ''}: ${masks.length} masks for ${sentInSpan} frames sent (${(100 * share).toFixed(1)} %), ${rate.toFixed(1)} masks/s over ${seconds.toFixed(1)} s; publisher: ${String(stats.frames_produced)} frames produced at 30 fps, ${String(stats.frames_encoded)} encoded, ${String(stats.keyframes)} keyframes`);
      const dropsAfter = await dropsByReason(server.url);
      const drops = Object.entries(dropsAfter).filter(([r, n]) => n > (dropsBefore[r] ?? 0)).map(([r, n]) => `${r} ${n - (dropsBefore[r] ?? 0)}`);
      console.log(`      server drops in the session: ${drops.join(', ') || 'none'}`);
      expect(share, `masks for ${masks.length} of ${sentInSpan} frames sent`).to.be.at.least(0.5);

      // Real masks: the foreground lies on the person where the clip put them in that frame.
      const anchor = publisher.find('first_rtp')!;
      const frameOf = (ts: number) => (Number(anchor.frame) + rtpDelta(Number(anchor.rtp_timestamp), ts) / TICKS_PER_FRAME) % CLIP.frames;
      const ov = masks.map((m) => maskOverlap(m.msg, boxes[frameOf(m.msg.rtpTimestamp)]!, CLIP.width, CLIP.height));
      const precision = ov.reduce((a, o) => a + o.precision, 0) / ov.length;
      const coverage = ov.reduce((a, o) => a + o.coverage, 0) / ov.length;
      console.log(`      foreground inside the person box ${(100 * precision).toFixed(1)} %, box covered ${(100 * coverage).toFixed(1)} %`);
      expect(precision, 'foreground inside the person box').to.be.at.least(0.7);
      expect(coverage, 'person box covered by foreground').to.be.at.least(0.25);
      // And each mask is the one of its own frame: the foreground's centre follows the person's
      // box (4 px per frame, bouncing) best with no frame offset between the two.
      const centres = masks.map((m) => centroidX(m.msg) * (CLIP.width / m.msg.width));
      const spread = (k: number) => {
        const d = masks.map((m, i) => centres[i]! - boxes[(frameOf(m.msg.rtpTimestamp) + k + CLIP.frames) % CLIP.frames]!.x);
        const mean = d.reduce((a, x) => a + x, 0) / d.length;
        return Math.sqrt(d.reduce((a, x) => a + (x - mean) ** 2, 0) / d.length);
      };
      const offsets = Array.from({ length: 21 }, (_, i) => i - 10);
      const best = offsets.reduce((a, k) => (spread(k) < spread(a) ? k : a), 0);
      console.log(`      mask ↔ frame: best frame offset ${best}, centre spread ${spread(best).toFixed(1)} px (${spread(10).toFixed(1)} px at +10 frames)`);
      expect(Math.abs(best), 'masks follow their own frames').to.be.at.most(1);
    });
  }
});
