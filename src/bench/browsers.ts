/**
 * `npm run bench:browsers -- [--browsers 3] [--seconds 30] [--warmup 5] [server flags: --backend, --roi, …]`
 *
 * Real libwebrtc publishers: N headless Chromium instances (Debian's chromium through
 * playwright-core), each with a fake camera playing a 640×480 30 fps clip of a person, each on
 * a publish-only WHIP page (src/testing/whipPage, @eyevinn/whip-web-client; the camera is not
 * rendered, which in headless Chromium without a GPU would cost about a core by itself),
 * served from another origin. The server runs in this process; for every session a WebSocket
 * subscriber here reads the mask headers (sequence number, the server's latency, the session's
 * drop counter). After the warm-up, for `--seconds`, it counts masks per stream and collects
 * the server latency of every mask (frame complete → mask sent, as the server stamps it).
 * Prints a Markdown table; exits 1 if a browser failed to publish.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import WebSocket from 'ws';
import { startServer } from '../main.js';
import { loadConfig } from '../config.js';
import { projectRoot } from '../paths.js';
import { readMaskHeader } from '../shared/maskCodec.js';
import { writeClipY4m } from '../testing/synthClip.js';
import { chromiumAvailable, CHROMIUM_PATH, launchChromium, type LaunchedChromium } from '../testing/chromium.js';
import { fmt, summarize } from './stats.js';
import { arg, serverFlags } from './args.js';

const OWN = ['browsers', 'seconds', 'warmup'];
const TOKEN = 'bench-browsers-token-0123456789';

interface Stream {
  browser: LaunchedChromium;
  id: string;
  socket: WebSocket;
  /** Arrival time (ms) and server latency of each mask. */
  masks: { at: number; serverMs: number; seq: number; dropped: number }[];
}

async function pageServer(bundle: string): Promise<{ origin: string; close(): Promise<void> }> {
  const html = '<!doctype html><meta charset="utf-8"><title>WHIP publisher</title><video></video><script type="module" src="/app.js"></script>';
  const server = http.createServer((req, res) => {
    if (req.url === '/app.js') res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
    else if (req.url === '/' || req.url?.startsWith('/?')) res.writeHead(200, { 'Content-Type': 'text/html' }).end(html);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function main(): Promise<void> {
  const n = Number(arg('browsers', '3'));
  const seconds = Number(arg('seconds', '30'));
  const warmup = Number(arg('warmup', '5'));
  if (!(n >= 1 && seconds > 0 && warmup >= 0)) throw new Error('--browsers ≥ 1, --seconds > 0, --warmup ≥ 0');
  if (!chromiumAvailable()) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install chromium (or set CHROMIUM_PATH)`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'maskstream-bench-browsers-'));
  const clipPath = path.join(tmp, 'person.y4m');
  await writeClipY4m(clipPath, { width: 640, height: 480, fps: 30, frames: 150, speedPxPerFrame: 4, seed: 1 });
  const out = await build({
    absWorkingDir: projectRoot(),
    entryPoints: [path.join(projectRoot(), 'src', 'testing', 'whipPage', 'main.ts')],
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'warning',
  });
  const pages = await pageServer(out.outputFiles[0]!.text);
  const config = loadConfig({ argv: serverFlags(OWN), overrides: { port: 0, host: '127.0.0.1', logLevel: 'warn', whipToken: TOKEN, corsAllowOrigins: [pages.origin], maxSessions: Math.max(n, 4) } });
  const server = await startServer({}, { config });
  const streams: Stream[] = [];
  let failed = 0;
  try {
    const endpoint = `${server.url.replace('localhost', '127.0.0.1')}/whip`;
    for (let i = 0; i < n; i++) {
      const browser = await launchChromium({ clipPath });
      await browser.page.goto(`${pages.origin}/?endpoint=${encodeURIComponent(endpoint)}&token=${TOKEN}&preview=0`);
      await browser.page.waitForFunction(() => {
        const w = (window as unknown as { __whip?: { resource: string | null; state: string } }).__whip;
        return w !== undefined && (w.resource !== null || w.state === 'failed');
      }, undefined, { timeout: 60_000, polling: 100 });
      const st = await browser.page.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __whip: unknown }).__whip)) as { resource: string | null; error: string | null });
      if (!st.resource) {
        console.error(`bench:browsers: browser ${i + 1} failed to publish: ${st.error}`);
        failed++;
        await browser.close();
        continue;
      }
      const id = st.resource.split('/').pop()!;
      const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/sessions/${id}/masks`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      const s: Stream = { browser, id, socket, masks: [] };
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) return;
        const h = readMaskHeader(data);
        s.masks.push({ at: performance.now(), serverMs: h.timings.serverMs, seq: h.seq, dropped: h.droppedFrames });
      });
      streams.push(s);
      console.error(`bench:browsers: browser ${i + 1} publishing (session ${id})`);
    }
    await new Promise((r) => setTimeout(r, warmup * 1000));
    const t0 = performance.now();
    const load0 = os.loadavg()[0]!;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const t1 = performance.now();
    const load1 = os.loadavg()[0]!;

    const window = (s: Stream) => s.masks.filter((m) => m.at >= t0 && m.at < t1);
    const all = streams.flatMap((s) => window(s).map((m) => m.serverMs));
    const total = summarize(all);
    console.log(`\nmaskstream with real libwebrtc publishers: ${streams.length} headless Chromium (${CHROMIUM_PATH}), fake camera 640×480 @ 30 fps, publish-only WHIP page, masks on a WebSocket subscriber each; ${seconds} s measured after ${warmup} s`);
    console.log(`server: backend ${server.engineInfo.backend} (${server.engineInfo.provider}), model ${server.engineInfo.model}, temporal ${server.config.temporal}, roi ${server.config.roi}${server.engineInfo.detector ? ` (detector ${server.engineInfo.detector})` : ''}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; load average ${fmt(load0, 2)} → ${fmt(load1, 2)}\n`);
    console.log('| stream | masks/s | frames the server dropped (in the window) | server ms p50 / p95 / p99 |');
    console.log('|---|---:|---:|---:|');
    streams.forEach((s, i) => {
      const w = window(s);
      const st = summarize(w.map((m) => m.serverMs));
      const dropped = w.length ? w[w.length - 1]!.dropped - w[0]!.dropped : 0;
      console.log(`| ${i + 1} | ${fmt(w.length / seconds)} | ${dropped} | ${fmt(st.p50)} / ${fmt(st.p95)} / ${fmt(st.p99)} |`);
    });
    console.log(`| all | ${fmt(all.length / seconds)} | | ${fmt(total.p50)} / ${fmt(total.p95)} / ${fmt(total.p99)} |`);
  } finally {
    for (const s of streams) {
      s.socket.terminate();
      await s.browser.close().catch(() => undefined);
    }
    await server.close();
    await pages.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  if (failed) process.exit(1);
}

main().catch((e: Error) => {
  console.error(e);
  process.exit(1);
});
