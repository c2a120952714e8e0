/**
 * Builds the evaluation clips (cached) and writes a contact sheet per clip so people can look
 * at them: frames 0, 30, 60 and the last, as decoded after VP8 (top row), their ground-truth
 * alpha (middle row) and the frame dimmed outside the GT (bottom row, shows whether GT and
 * picture agree), each at half size. Prints per clip the bitrate reached, how much of the
 * people is on screen, and any visible cut edge of a bust.
 *
 *   node dist/src/quality/clips/preview.js <outdir> [--clips] [--no-cache] [--training=N] [name …]
 *
 * --clips also writes <outdir>/<name>/clip.y4m + gt/*.png (writeClip) for the CLI.
 * --training=N also renders training clips 0..N−1 of seed 1 and writes their sheets.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { i420ToRgb } from '../../decode/yuvToRgb.js';
import { buildEvalClips, evalClipDefinitions, trainingClips } from './catalog.js';
import { onScreenShare, visibleCutEdges } from './checks.js';
import { writeClip } from './clipFiles.js';
import { loadCutouts } from './cutouts.js';
import { encodePng } from './imageIo.js';
import { personAlphaFrame } from './personTruth.js';
import type { QualityClip } from './types.js';

/** Colours of people 0, 1, 2, … in the GT row of a multi-person clip's sheet. */
const PERSON_COLOURS: readonly (readonly [number, number, number])[] = [[255, 90, 90], [90, 200, 255], [255, 225, 60], [120, 255, 120], [230, 120, 255]];

/**
 * RGB contact sheet of `picks` frames: picture, GT, picture × GT (dimmed to 25 % outside). In a
 * multi-person clip the GT row shows each person's visible coverage in their own colour
 * (PERSON_COLOURS, cast order), so per-person truth can be checked by eye.
 */
export function contactSheet(clip: QualityClip, picks: readonly number[]): { width: number; height: number; rgb: Uint8Array } {
  const tw = clip.width >> 1;
  const th = clip.height >> 1;
  const width = tw * picks.length;
  const height = th * 3;
  const rgb = new Uint8Array(width * height * 3);
  picks.forEach((fi, col) => {
    const pic = i420ToRgb(clip.frames[fi]!, tw, th).data;
    const gt = clip.gt[fi]!;
    const people = clip.people?.map((p) => personAlphaFrame(p.alpha[fi]!, clip.width, clip.height));
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        // GT at half size: mean of the 2×2 block (keeps soft edges soft).
        const g = (gt[2 * y * clip.width + 2 * x]! + gt[2 * y * clip.width + 2 * x + 1]! + gt[(2 * y + 1) * clip.width + 2 * x]! + gt[(2 * y + 1) * clip.width + 2 * x + 1]!) / 4;
        const i = 2 * y * clip.width + 2 * x;
        const shares = people?.map((a) => (a[i]! + a[i + 1]! + a[i + clip.width]! + a[i + clip.width + 1]!) / (4 * 255));
        for (let k = 0; k < 3; k++) {
          const v = pic[(y * tw + x) * 3 + k]!;
          rgb[((y * width) + col * tw + x) * 3 + k] = v;
          rgb[(((y + th) * width) + col * tw + x) * 3 + k] = shares ? Math.min(255, Math.round(shares.reduce((s, a, p) => s + a * PERSON_COLOURS[p % PERSON_COLOURS.length]![k]!, 0))) : g;
          rgb[(((y + 2 * th) * width) + col * tw + x) * 3 + k] = Math.round(v * (0.25 + 0.75 * (g / 255)));
        }
      }
    }
  });
  return { width, height, rgb };
}

async function main(argv: string[]): Promise<void> {
  const flags = new Set(argv.filter((a) => a.startsWith('--') && !a.includes('=')));
  const [outDir, ...names] = argv.filter((a) => !a.startsWith('--'));
  if (!outDir) {
    process.stderr.write('usage: node dist/src/quality/clips/preview.js <outdir> [--clips] [--no-cache] [clip name …]\n');
    process.exitCode = 2;
    return;
  }
  mkdirSync(outDir, { recursive: true });
  const t0 = performance.now();
  const clips = await buildEvalClips({ names: names.length ? names : undefined, useCache: !flags.has('--no-cache'), log: (m) => process.stdout.write(m + '\n') });
  process.stdout.write(`built ${clips.length} clips in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const defs = new Map(evalClipDefinitions().map((d) => [d.name, d]));
  const cutouts = await loadCutouts([...new Set(clips.flatMap((c) => defs.get(c.name)!.people))]);
  for (const clip of clips) {
    const def = defs.get(clip.name)!;
    const n = clip.frames.length;
    // Multi-person clips: six frames, so people entering, crossing and leaving show.
    const picks = clip.people ? [0, 1, 2, 3, 4, 5].map((k) => Math.round((k * (n - 1)) / 5)) : [0, Math.min(30, n - 1), Math.min(60, n - 1), n - 1];
    const sheet = contactSheet(clip, picks);
    const file = path.join(outDir, `${clip.name}.png`);
    writeFileSync(file, encodePng(sheet.rgb, sheet.width, sheet.height, 3));
    const share = onScreenShare(def.scene, cutouts, clip.gt);
    const sorted = [...share].sort((a, b) => a - b);
    const cuts = visibleCutEdges(def.scene, cutouts);
    process.stdout.write(
      `${clip.name} (${clip.kind}): ${(clip.actualBitrate / 1000).toFixed(0)} kbit/s for a ${(clip.bitrate / 1000).toFixed(0)} kbit/s target; ` +
        `people on screen min ${sorted[0]!.toFixed(2)} median ${sorted[sorted.length >> 1]!.toFixed(2)}; ` +
        (cuts.length ? `VISIBLE CUT EDGE: ${cuts.map((c) => `${c.person} ${c.side} in ${c.frames.length} frames (first ${c.frames[0]})`).join('; ')}` : 'no cut edge visible') +
        ` → ${file}\n`,
    );
    if (flags.has('--clips')) writeClip(clip, path.join(outDir, clip.name));
  }
  const training = Number(argv.find((a) => a.startsWith('--training='))?.split('=')[1] ?? 0);
  for await (const clip of trainingClips(1, training, 90)) {
    const sheet = contactSheet(clip, [0, 30, 60, 89]);
    const file = path.join(outDir, `${clip.name}.png`);
    writeFileSync(file, encodePng(sheet.rgb, sheet.width, sheet.height, 3));
    process.stdout.write(`${clip.name} (${clip.kind}): ${clip.description}; ${(clip.actualBitrate / 1000).toFixed(0)} kbit/s → ${file}\n`);
  }
}

// Run only as a script: importing the module (for contactSheet) has no side effects.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
    process.exitCode = 1;
  });
}
