/**
 * One publisher of the load benchmark, in its own process (started by src/bench/load.ts with
 * an IPC channel), so its VP8 encoder and its werift stack run on their own event loop and
 * never on the server's. Reads the clip, connects over WebSocket signaling, waits for the
 * common start time, sends `totalFrames` frames at `fps` (encoded live by libvpx in realtime
 * mode in an ffmpeg child of this process; PLI honoured with a fresh keyframe), records
 * every mask's timings and end-to-end latency, and reports them when done.
 */
import { performance } from 'node:perf_hooks';
import { readFileSync, readdirSync } from 'node:fs';
import { openY4m } from '../io/y4m.js';
import { WeriftPublisher } from '../testing/weriftPublisher.js';
import type { I420Picture } from '../decode/types.js';
import type { FromPublisher, MaskRecord, PublisherConfig, ToPublisher } from './loadProtocol.js';

/**
 * CPU time of this process and its live children (the ffmpeg encoder), ms, from /proc (Linux);
 * elsewhere this process only.
 */
function treeCpuMs(): number {
  const ticks = 100; // USER_HZ: /proc times are in 1/100 s on Linux
  const stat = (pid: string) => {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    return { ppid: Number(f[1]), cpu: ((Number(f[11]) + Number(f[12])) * 1000) / ticks };
  };
  try {
    let ms = stat('self').cpu;
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const s = stat(d);
        if (s.ppid === process.pid) ms += s.cpu;
      } catch {
        // the process ended while we looked: its time is gone with it
      }
    }
    return ms;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
}

function send(m: FromPublisher): void {
  process.send?.(m);
}

async function readClip(path: string): Promise<I420Picture[]> {
  const reader = await openY4m(path);
  const frames: I420Picture[] = [];
  for await (const pic of reader.frames()) frames.push(pic);
  return frames;
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('loadPublisher runs as a child of `npm run bench:load` (needs an IPC channel)');
  const next = (() => {
    const queue: ToPublisher[] = [];
    let waiter: ((m: ToPublisher) => void) | undefined;
    process.on('message', (m: ToPublisher) => {
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w(m);
      } else queue.push(m);
    });
    return () => new Promise<ToPublisher>((resolve) => {
      const m = queue.shift();
      if (m) resolve(m);
      else waiter = resolve;
    });
  })();

  const config = (await next()) as PublisherConfig;
  const frames = await readClip(config.clipPath);
  const masks: MaskRecord[] = [];
  let cpuAtWindow: number | undefined;
  let wallAtWindow = 0;
  let wallEnd = 0;
  const pub = new WeriftPublisher({
    url: config.url,
    codec: 'vp8',
    // libvpx realtime in an ffmpeg child, ≈ 2 ms a frame like a browser's encoder (see
    // ffmpegEncoder.ts); WebCodecs where the machine has no ffmpeg (the GPU check).
    encoder: config.encoder,
    frames,
    fps: config.fps,
    bitrate: config.bitrate,
    totalFrames: config.totalFrames,
    keepMasks: false,
    // Masks of the naive baseline can come back many seconds late: keep a minute of frames.
    matchWindowFrames: config.fps * 60,
    onMask: (m) => {
      const t = m.msg.timings;
      masks.push([m.frameIndex, m.e2eMs, t.serverMs, t.receiveMs, t.decodeMs, t.preprocessMs, t.inferenceMs, t.temporalMs, t.encodeMs]);
    },
  });
  try {
    await pub.connect(30_000);
    send({ type: 'connected', sessionId: pub.sessionId ?? '' });
    const start = (await next()) as Extract<ToPublisher, { type: 'start' }>;
    const wait = start.atEpochMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // CPU of this process over the measured frames only (the encoder's warm-up excluded).
    const poll = setInterval(() => {
      if (cpuAtWindow === undefined && pub.framesSent >= config.warmupFrames) {
        cpuAtWindow = treeCpuMs();
        wallAtWindow = performance.now();
      }
    }, 5);
    // A `stop` while sending (the benchmark stops a naive run whose queue ran away) ends the run
    // now; the result of what was sent so far still goes out below. The queued `stop` is then
    // consumed by the last next().
    process.on('message', (m: ToPublisher) => {
      if (m.type === 'stop') void pub.close();
    });
    const progress = config.progressEveryMs
      ? setInterval(() => send({ type: 'progress', framesSent: pub.framesSent, masks: masks.splice(0), rssBytes: process.memoryUsage().rss }), config.progressEveryMs)
      : undefined;
    await pub.run();
    clearInterval(poll);
    clearInterval(progress);
    const cpuEnd = treeCpuMs();
    wallEnd = performance.now();
    // Masks still on their way (the naive baseline's queue can hold many seconds).
    await new Promise((r) => setTimeout(r, 1500));
    send({
      type: 'result',
      framesSent: pub.framesSent,
      masks,
      keyframeRequests: pub.keyframeRequests,
      errors: pub.errors,
      // The encoder child's time leaves the tree sum if it already exited (a stopped run): unknown then.
      measuredCpuMs: cpuAtWindow !== undefined && cpuEnd >= cpuAtWindow ? cpuEnd - cpuAtWindow : 0,
      measuredWallMs: cpuAtWindow !== undefined && cpuEnd >= cpuAtWindow ? wallEnd - wallAtWindow : 0,
      rssBytes: process.memoryUsage().rss,
    });
    await next(); // stop
  } catch (e) {
    send({ type: 'failed', error: (e as Error).message });
  } finally {
    await pub.close();
    process.disconnect?.();
  }
}

main().catch((e: Error) => {
  console.error(e);
  process.exit(1);
});
