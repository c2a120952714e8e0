/**
 * Graceful drain: RunningServer.drain() in-process with two live werift sessions (one leaves
 * on its own, one is closed by the drain timeout), and the CLI's SIGTERM path in a child
 * process (drain, then exit 0).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../src/main.js';
import { WeriftPublisher } from '../../src/testing/weriftPublisher.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { projectRoot } from '../../src/paths.js';
import type { I420Picture } from '../../src/decode/types.js';
import { LOADED_MS, waitFor } from '../helpers/waitFor.js';
import { dropCounts, dropsSince, LOAD_DROP_REASONS } from '../helpers/frameAccounting.js';

const FPS = 30;
/** The CLI's drain timeout: far longer than an exit after the last session needs, even loaded. */
const CLI_DRAIN_TIMEOUT_MS = 120_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends a WS offer and resolves with the server's first message. */
function wsOffer(url: string, sdp: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/signal');
    ws.once('open', () => ws.send(JSON.stringify({ type: 'offer', sdp })));
    ws.once('message', (d) => {
      resolve(JSON.parse(d.toString()) as Record<string, unknown>);
      ws.close();
    });
    ws.once('error', reject);
  });
}

describe('graceful drain', function () {
  this.timeout(300_000);
  let frames: I420Picture[];
  let server: RunningServer | undefined;
  let child: ChildProcess | undefined;
  const pubs: WeriftPublisher[] = [];

  before(async () => {
    frames = (await generateClip({ frames: 60, width: 640, height: 480, fps: FPS, speedPxPerFrame: 4, seed: 5 })).frames;
  });

  afterEach(async () => {
    for (const p of pubs.splice(0)) await p.close();
    await server?.close();
    server = undefined;
    if (child && child.exitCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  it('refuses new sessions, reports not ready, keeps live sessions streaming, and closes the rest at the timeout', async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'warn', maxSessions: 3 });
    const s = server;
    const leaver = new WeriftPublisher({ url: s.url, codec: 'vp8', frames, fps: FPS, totalFrames: FPS * 30 });
    const stayer = new WeriftPublisher({ url: s.url, codec: 'vp8', frames, fps: FPS, totalFrames: FPS * 30 });
    pubs.push(leaver, stayer);
    await leaver.connect(LOADED_MS);
    await stayer.connect(LOADED_MS);
    const runs = [leaver.run(), stayer.run()];
    expect(await waitFor(() => leaver.masks.length > 10 && stayer.masks.length > 10, LOADED_MS), 'both sessions stream').to.equal(true);
    const offerSdp = leaver.answer!.sdp; // any SDP with video: refused before it is applied

    const DRAIN_TIMEOUT_MS = 5000;
    const dropsBefore = await dropCounts(s.url);
    const t0 = performance.now();
    const stayerAtStart = stayer.masks.length;
    const drained = s.drain({ timeoutMs: DRAIN_TIMEOUT_MS });

    const ready = await fetch(s.url + '/readyz');
    expect(ready.status, '/readyz while draining').to.equal(503);
    expect(await ready.json()).to.include({ ready: false, draining: true });
    expect((await fetch(s.url + '/healthz')).status, '/healthz stays 200').to.equal(200);

    const refusedWs = await wsOffer(s.url, offerSdp);
    expect(refusedWs).to.include({ type: 'error', code: 'server_full', retryAfterMs: 1000 });
    expect(String(refusedWs.message)).to.contain('shutting down');
    const refusedWhip = await fetch(s.url + '/whip', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offerSdp });
    expect(refusedWhip.status).to.equal(503);
    expect(refusedWhip.headers.get('retry-after')).to.equal('1');

    await sleep(1500);
    await leaver.close(); // leaves on its own during the drain
    await waitFor(() => s.registry.size === 1, LOADED_MS);
    expect(s.registry.size, 'the leaver is gone, the stayer is not').to.equal(1);

    const report = await drained;
    const tEnd = performance.now();
    // The stayer's masks while draining, up to the timeout that closed it (counted by events:
    // its sequence numbers go on; none of its frames was refused or lost because of the drain).
    const during = stayer.masks.filter((m) => m.msg.seq > (stayer.masks[stayerAtStart - 1]?.msg.seq ?? -1));
    const drops = dropsSince(dropsBefore, await dropCounts(s.url));
    console.log(`      drain: ${JSON.stringify(report)}; stayer: ${during.length} masks while draining (drops ${JSON.stringify(drops)}); drain() resolved ${(tEnd - t0).toFixed(0)} ms after it began`);
    expect(report.sessionsAtStart).to.equal(2);
    expect(report.closedAtTimeout).to.equal(1);
    // Closed by the timer, not by anything later (generous above: timers fire late on a busy machine).
    expect(report.elapsedMs).to.be.within(DRAIN_TIMEOUT_MS - 50, DRAIN_TIMEOUT_MS + 3000);
    // Draining does not stop the live session: masks keep coming for the 5 s it is allowed, in
    // order, and its frames end only as masks or as drops a live stream has anyway.
    expect(during.length, 'masks of the live session while draining').to.be.at.least(5);
    for (let i = 1; i < during.length; i++) expect(during[i]!.msg.seq).to.be.greaterThan(during[i - 1]!.msg.seq);
    for (const reason of Object.keys(drops)) expect(LOAD_DROP_REASONS, `drop reason ${reason} while draining`).to.include(reason);
    await waitFor(() => stayer.byeReason !== undefined, LOADED_MS);
    expect(stayer.byeReason, 'the remaining session is told why').to.equal('shutdown');
    expect(s.registry.size).to.equal(0);

    const metrics = await (await fetch(s.url + '/metrics')).text();
    expect(metrics).to.match(/^maskstream_draining 1$/m);
    expect(metrics).to.match(/^maskstream_sessions_refused_total\{reason="draining"\} 2$/m);
    expect(metrics).to.match(/^maskstream_sessions_ended_total\{reason="shutdown"\} 1$/m);
    await stayer.close();
    await Promise.all(runs);
  });

  it('drains on SIGTERM in the CLI and exits 0 once the last session has left', async () => {
    const cli = path.join(projectRoot(), 'dist', 'src', 'cli', 'maskstream.js');
    const env: NodeJS.ProcessEnv = { ...process.env, MASKSTREAM_PORT: '0', MASKSTREAM_HOST: '127.0.0.1', MASKSTREAM_LOG_LEVEL: 'warn', MASKSTREAM_DRAIN_TIMEOUT_MS: String(CLI_DRAIN_TIMEOUT_MS) };
    for (const k of Object.keys(env)) if (k.startsWith('MASKSTREAM_') && !['MASKSTREAM_PORT', 'MASKSTREAM_HOST', 'MASKSTREAM_LOG_LEVEL', 'MASKSTREAM_DRAIN_TIMEOUT_MS'].includes(k)) delete env[k];
    const proc = spawn(process.execPath, [cli, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let stdout = '';
    proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<{ code: number | null; t: number }>((resolve) => proc.once('exit', (code) => resolve({ code, t: performance.now() })));
    await waitFor(() => /maskstream ready: open (http:\/\/\S+)/.test(stdout), LOADED_MS);
    const url = /maskstream ready: open (http:\/\/\S+)/.exec(stdout)?.[1];
    expect(url, `CLI output: ${stdout}`).to.be.a('string');

    const pub = new WeriftPublisher({ url: url!, codec: 'vp8', frames, fps: FPS, totalFrames: FPS * 60 });
    pubs.push(pub);
    await pub.connect(LOADED_MS);
    const run = pub.run();
    expect(await waitFor(() => pub.masks.length > 10, LOADED_MS), 'masks before SIGTERM').to.equal(true);

    const tTerm = performance.now();
    proc.kill('SIGTERM');
    await waitFor(() => stdout.includes('SIGTERM: draining'), LOADED_MS);
    const ready = await fetch(url + '/readyz');
    expect(ready.status, '/readyz after SIGTERM').to.equal(503);
    // The live session keeps getting masks after SIGTERM: ten more, however long a busy
    // machine takes for them (counted, not timed).
    const before = pub.masks.length;
    expect(await waitFor(() => pub.masks.length >= before + 10, LOADED_MS), `masks after SIGTERM (${pub.masks.length - before})`).to.equal(true);
    expect(proc.exitCode, 'still running while a session is live').to.equal(null);

    const tBye = performance.now();
    await pub.close();
    const { code, t } = await exited;
    console.log(`      CLI: ${pub.masks.length - before} masks after SIGTERM; exit ${code} ${(t - tBye).toFixed(0)} ms after the last session left (${(t - tTerm).toFixed(0)} ms after SIGTERM)`);
    expect(code).to.equal(0);
    expect(stdout).to.match(/drained in \d+ ms \(1 sessions at start, 0 closed at the timeout\)/);
    // Exit follows the last session, not the drain timeout (far longer).
    expect(t - tBye, 'exit soon after the last session left').to.be.below(CLI_DRAIN_TIMEOUT_MS / 4);
    await run;
  });
});
