/**
 * The clip catalogue, public face of src/quality/clips: the evaluation clips of the quality
 * benchmark (evalClips.ts, and multiClips.ts for the multi-person ones with per-person truth in
 * QualityClip.people: fixed, named, cached on disk after the first build) and the seeded
 * generator of training clips (training.ts: rendered on demand, not cached).
 *
 * Overlap between training and evaluation: the opencv-doc photos and the samples.jpg / vtest.avi
 * people appear in both (there are too few photos to split them); motions, placements,
 * augmentation and seeds differ. Only `skimage-independent` (scikit-image photos) is
 * strictly held out of training.
 */
import { buildClip, renderClip, sourcesAvailable, type BuildOptions } from './build.js';
import { loadCutouts } from './cutouts.js';
import { singlePersonClipDefinitions } from './evalClips.js';
import { multiPersonClipDefinitions } from './multiClips.js';
import { trainingDefinition, type TrainingDims } from './training.js';
import type { ClipDefinition, QualityClip } from './types.js';

export { trainingDefinition } from './training.js';
export { personAlphaFrame } from './personTruth.js';
export type { AlphaBox, CastMember, CastRole, ClipDefinition, ClipKind, PersonTruth, QualityClip } from './types.js';

/** Every evaluation clip, in benchmark order: the single-person ones (evalClips.ts), then the multi-person ones (multiClips.ts, kind 'multi'). */
export function evalClipDefinitions(): ClipDefinition[] {
  return [...singlePersonClipDefinitions(), ...multiPersonClipDefinitions()];
}

export class CatalogError extends Error {
  override readonly name = 'CatalogError';
}

/** Names of the evaluation clips, in benchmark order (including the optional one). */
export function evalClipNames(): string[] {
  return evalClipDefinitions().map((d) => d.name);
}

export interface EvalBuildOptions extends BuildOptions {
  /** Only these clips (default: all). */
  readonly names?: readonly string[];
}

/**
 * The evaluation clips (all, or `names`), from the cache or rendered once. An optional clip
 * whose photos are not installed (skimage-independent without python3-skimage) is skipped
 * with a notice through `log`; a missing source of any other clip is an error. All clips are
 * held in memory (≈ 70 MB each at 640×480×90); to stream them, call buildClip() per
 * definition of evalClipDefinitions().
 */
export async function buildEvalClips(o: EvalBuildOptions = {}): Promise<QualityClip[]> {
  const defs = evalClipDefinitions();
  const unknown = (o.names ?? []).filter((n) => !defs.some((d) => d.name === n));
  if (unknown.length) throw new CatalogError(`unknown clip name(s) ${unknown.join(', ')}; known: ${defs.map((d) => d.name).join(', ')}`);
  const out: QualityClip[] = [];
  for (const def of defs) {
    if (o.names && !o.names.includes(def.name)) continue;
    if (def.optional && !sourcesAvailable(def)) {
      (o.log ?? ((m: string) => process.stderr.write(m + '\n')))(`notice: skipping optional clip ${def.name}: its photos are not installed (apt-get install python3-skimage)`);
      continue;
    }
    out.push(await buildClip(def, o));
  }
  return out;
}

export interface TrainingOptions {
  /** Frame size and rate (default 640×480 at 30 fps, like the evaluation clips). */
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
  /** Cut-out cache folder (default <project>/.cache/quality/cutouts). */
  readonly cutoutDir?: string;
  readonly log?: (msg: string) => void;
}

/**
 * `count` training clips of `frames` frames from stream `seed`, one at a time (each is
 * rendered and VP8 round-tripped when pulled; nothing is cached). Clip i is the same for the
 * same (seed, i, size) on every run. Use seeds of your own; evaluation clips never come out.
 */
export async function* trainingClips(seed: number, count: number, frames: number, o: TrainingOptions = {}): AsyncGenerator<QualityClip> {
  if (!(Number.isInteger(count) && count >= 0 && Number.isInteger(frames) && frames > 0)) throw new CatalogError(`count (${count}) must be an integer ≥ 0 and frames (${frames}) an integer > 0`);
  const dims: TrainingDims = { width: o.width ?? 640, height: o.height ?? 480, frames, fps: o.fps ?? 30 };
  for (let i = 0; i < count; i++) {
    const def = trainingDefinition(seed, i, dims);
    const cutouts = await loadCutouts(def.people, { cacheDir: o.cutoutDir, log: o.log });
    yield await renderClip(def, cutouts);
  }
}
