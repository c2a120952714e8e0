/**
 * Training samples for the learned temporal fusion: generated clips (src/quality/clips, with
 * augmentation and a VP8 round trip) pushed once through the frozen backbone. Per frame we keep
 * exactly what the temporal stage sees at inference — the model-input RGB, the backbone's
 * person logits and feature map — plus the ground truth at mask resolution.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { projectRoot } from '../paths.js';
import { GENERATOR_VERSION } from '../quality/clips/build.js';
import type { Backbone } from '../inference/backbone.js';
import { i420Luma, i420ToRgb } from '../decode/yuvToRgb.js';
import { areaDownsample } from '../shared/maskResize.js';
import { RoiTracker, wholePicture, type RoiOptions } from '../roi/roiTracker.js';
import { cropI420, mergePlanned, mergeScratch } from '../roi/crop.js';
import { trainingClips } from '../quality/clips/catalog.js';
import type { QualityClip } from '../quality/clips/types.js';

export interface TrainFrame {
  /** Model-input RGB (inputWidth × inputHeight × 3). */
  readonly rgb: Uint8Array;
  /** Person logits at mask resolution (H × W). */
  readonly logits: Float32Array;
  /** Backbone features [h, w, c]. */
  readonly features: Float32Array;
  /** The whole picture's luma at mask resolution (what the engine gives the temporal stage). */
  readonly luma: Uint8Array;
  /** Ground-truth foreground probability at mask resolution, 0..255. */
  readonly gt: Uint8Array;
}

export interface TrainClip {
  readonly name: string;
  readonly description: string;
  readonly frames: TrainFrame[];
}

/**
 * One generated clip through the frozen backbone. With `roi`, frames are segmented on the
 * region of interest the way the engine does it (src/roi: crop chosen from the last mask,
 * output put back on the whole picture); the tracker follows the per-frame masks here (at
 * inference it follows the fused ones), so the head trains on the crops it will see.
 */
export function clipToSamples(clip: QualityClip, backbone: Backbone, roi: RoiOptions | false = false): TrainClip {
  const { inputWidth: iw, inputHeight: ih, maskWidth: mw, maskHeight: mh } = backbone.info;
  const frames: TrainFrame[] = [];
  const tracker = roi ? new RoiTracker(roi, iw / ih) : null;
  for (let i = 0; i < clip.frames.length; i++) {
    const pic = clip.frames[i]!;
    const views = tracker?.plan(pic.width, pic.height) ?? [{ kind: 'whole' as const, box: wholePicture(pic.width, pic.height) }];
    const rgbs = views.map((v) => i420ToRgb(v.kind === 'whole' ? pic : cropI420(pic, v.box), iw, ih).data);
    const outs = backbone.runBatch(rgbs);
    // The views back on the whole picture, as the engine does (new arrays: every frame is kept).
    const m = mergePlanned(views.map((view, k) => ({ view, rgb: rgbs[k]!, ...outs[k]! })), backbone.info, mergeScratch(backbone.info));
    tracker?.observe(m.found, mw, mh, pic.width, pic.height, views);
    frames.push({ rgb: m.rgb, logits: m.logits, features: m.features, luma: i420Luma(pic, mw, mh), gt: areaDownsample(clip.gt[i]!, clip.width, clip.height, mw, mh) });
  }
  return { name: clip.name, description: clip.description, frames };
}

/** `count` training clips of `frames` frames from stream `seed`, through the backbone. */
export async function buildTrainingSet(backbone: Backbone, seed: number, count: number, frames: number, log: (m: string) => void, roi: RoiOptions | false = false): Promise<TrainClip[]> {
  const out: TrainClip[] = [];
  let i = 0;
  for await (const clip of trainingClips(seed, count, frames, { log })) {
    out.push(clipToSamples(clip, backbone, roi));
    i++;
    if (i % 5 === 0 || i === count) log(`training data: ${i}/${count} clips (${clip.description})`);
  }
  return out;
}

/**
 * buildTrainingSet through an on-disk cache (.cache/train/, gitignored): the same (model,
 * seed, count, frames, clip generator version, backbone weights) gives the same samples, so a
 * rerun of `npm run train` skips the rendering. Written as temp file + rename.
 */
export async function cachedTrainingSet(backbone: Backbone, weightsKey: string, seed: number, count: number, frames: number, log: (m: string) => void, roi: RoiOptions | false = false): Promise<TrainClip[]> {
  // Without a region of interest the key is what it always was (existing caches stay valid).
  const key = createHash('sha256').update(JSON.stringify({ model: backbone.info.model, weightsKey, seed, count, frames, generator: GENERATOR_VERSION, v: 1, ...(roi ? { roi } : {}) })).digest('hex').slice(0, 16);
  const dir = path.join(projectRoot(), '.cache', 'train');
  const file = path.join(dir, `${backbone.info.model}-${seed}-${count}x${frames}-${key}.bin`);
  if (existsSync(file)) {
    log(`training data from cache ${path.relative(projectRoot(), file)}`);
    return v8.deserialize(readFileSync(file)) as TrainClip[];
  }
  const set = await buildTrainingSet(backbone, seed, count, frames, log, roi);
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.partial-${process.pid}`;
  writeFileSync(tmp, v8.serialize(set));
  renameSync(tmp, file);
  return set;
}
