/**
 * `npm run bench:pipeline -- [--seconds 20] [--codec vp8|h264] [--fps 30] [server flags: --model, --backend, --roi, --temporal, …]`
 *
 * One 640×480 stream through the real server on 127.0.0.1: a werift publisher (in this
 * process, sending a generated clip with a person, encoded live: VP8 by libvpx realtime in an
 * ffmpeg child, H.264 by WebCodecs) → server → masks back.
 * Prints the per-stage latency breakdown the server reports in each mask message
 * (median, p95, p99 in ms), end-to-end latency (frame sent → mask received, publisher
 * clock), masks/s and drops, as a Markdown table.
 */
import os from 'node:os';
import { startServer } from '../main.js';
import { WeriftPublisher } from '../testing/weriftPublisher.js';
import { generateClip } from '../testing/synthClip.js';
import { loadConfig } from '../config.js';
import { fmt, summarize } from './stats.js';
import { arg, serverFlags } from './args.js';

const OWN = ['seconds', 'fps', 'codec'];

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '20'));
  const fps = Number(arg('fps', '30'));
  const codec = arg('codec', 'vp8') as 'vp8' | 'h264';
  const warmupFrames = fps * 2;
  const clip = await generateClip({ frames: 150, width: 640, height: 480, fps, speedPxPerFrame: 4, seed: 1 });
  const config = loadConfig({ argv: serverFlags(OWN), overrides: { port: 0, host: '127.0.0.1', logLevel: 'warn' } });
  const server = await startServer({}, { config });
  const pub = new WeriftPublisher({ url: server.url, codec, encoder: codec === 'vp8' ? 'ffmpeg' : 'webcodecs', frames: clip.frames, fps, totalFrames: Math.round(seconds * fps) + warmupFrames });
  try {
    await pub.connect();
    await pub.run();
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    await pub.close();
    await server.close();
  }
  const masks = pub.masks.filter((m) => m.frameIndex >= warmupFrames);
  const sent = pub.framesSent - warmupFrames;
  const col = (f: (t: (typeof masks)[number]) => number) => summarize(masks.map(f));
  const rows: [string, ReturnType<typeof summarize>][] = [
    ['receive (first packet → frame complete)', col((m) => m.msg.timings.receiveMs)],
    ['decode (WebCodecs VP8/H.264)', col((m) => m.msg.timings.decodeMs)],
    ['preprocess (I420 → RGB + resize)', col((m) => m.msg.timings.preprocessMs)],
    ['inference (backbone)', col((m) => m.msg.timings.inferenceMs)],
    ['temporal (stage + region of interest)', col((m) => m.msg.timings.temporalMs)],
    ['encode (mask message)', col((m) => m.msg.timings.encodeMs)],
    ['server total (frame complete → mask sent)', col((m) => m.msg.timings.serverMs)],
    ['end to end (frame sent → mask received)', col((m) => m.e2eMs)],
  ];
  console.log(`\nmaskstream pipeline benchmark: 1 stream ${codec.toUpperCase()} 640×480 @ ${fps} fps, ${seconds} s measured after ${warmupFrames} warm-up frames`);
  console.log(`model ${server.engineInfo.model} (${server.engineInfo.inputWidth}×${server.engineInfo.inputHeight}), backend ${server.engineInfo.backend} (${server.engineInfo.provider}), temporal ${server.config.temporal}, roi ${server.config.roi === 'on' ? `on (detector ${server.engineInfo.detector ?? 'none'})` : 'off'}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`);
  console.log('| stage | median ms | p95 ms | p99 ms |');
  console.log('|---|---:|---:|---:|');
  for (const [name, s] of rows) console.log(`| ${name} | ${fmt(s.p50, 2)} | ${fmt(s.p95, 2)} | ${fmt(s.p99, 2)} |`);
  console.log(`\nmasks: ${masks.length} for ${sent} frames sent (${fmt((100 * masks.length) / Math.max(1, sent))} %), ${fmt(masks.length / seconds)} masks/s; keyframe requests seen by publisher: ${pub.keyframeRequests}; errors: ${pub.errors.length}`);
}

main().catch((e: Error) => {
  console.error(e);
  process.exit(1);
});
