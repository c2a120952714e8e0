/**
 * The evaluation clips of the quality benchmark, as definitions (pure data; catalog.ts builds
 * them).
 *
 * Evaluation clips are 90 frames of 640×480 at 30 fps, each built to break a per-frame model
 * in one specific way (fast motion + blur, zoom/rotation, non-rigid deformation, camera pan,
 * occlusion + noise + flicker) plus near-static clips where the question is stability.
 * Positions are frame px, anchors are on the cut-out (bottom centre for people standing or
 * cut off at the bottom), times are frames.
 *
 * Sources shared between training and evaluation: with this few photos, the people (messi5,
 * the samples.jpg thumbnails, the vtest.avi walker) and backgrounds (opencv-doc photos) of
 * the opencv-based evaluation clips are also drawn by trainingClips() (with other motions,
 * placements, augmentation and seeds). Only `skimage-independent` (astronaut.png on
 * motorcycle_left.png, from python3-skimage) shares nothing with training: it is the
 * held-out check for over-fitting to the sources.
 */
import { backgroundSize, type BackgroundLayer, type OccluderLayer, type PersonLayer, type SceneSpec } from './composite.js';
import { photoKey } from './assets.js';
import type { Signal } from './motion.js';
import type { BackgroundId, PersonId } from './sources.js';
import type { CastMember, ClipDefinition, ClipKind } from './types.js';

export const EVAL_WIDTH = 640;
export const EVAL_HEIGHT = 480;
export const EVAL_FRAMES = 90;
export const EVAL_FPS = 30;
/** Seeds of the evaluation clips are EVAL_SEED_BASE + index; training clips hash their seed with their own salt (training.ts). */
export const EVAL_SEED_BASE = 0x0e7a1000;

const DIMS = { width: EVAL_WIDTH, height: EVAL_HEIGHT, frames: EVAL_FRAMES, fps: EVAL_FPS } as const;

/** Background layer with a window at (x, y) in the photo; the photo is decoded large enough for the whole pan. */
export function backgroundLayer(id: BackgroundId, dims: { width: number; height: number; frames: number }, x: Signal = 0, y: Signal = 0, hflip = false): BackgroundLayer {
  const size = backgroundSize(dims, x, y);
  return { image: photoKey({ id, ...size, hflip }), x, y };
}

/** A w × h patch of a photo, as an occluder fill (a textured object passing by). */
export function texture(id: BackgroundId, w: number, h: number): { image: string } {
  return { image: photoKey({ id, width: w, height: h, hflip: false }) };
}

export interface EvalInput {
  readonly name: string;
  readonly description: string;
  readonly kind: ClipKind;
  readonly bitrate: number;
  readonly background: BackgroundId;
  readonly bg?: { x?: Signal; y?: Signal; hflip?: boolean };
  readonly people: readonly PersonLayer[];
  readonly extra?: Partial<Omit<SceneSpec, 'width' | 'height' | 'frames' | 'fps' | 'seed' | 'background' | 'people'>>;
  readonly textures?: readonly BackgroundId[];
  readonly optional?: boolean;
  /** Multi-person clips: who each person layer is and what they do (renders per-person truth). */
  readonly cast?: readonly CastMember[];
}

/** An evaluation clip definition from its input; `index` is its seed offset (unique over all evaluation clips). */
export function evalClip(index: number, c: EvalInput): ClipDefinition {
  const scene: SceneSpec = {
    ...DIMS,
    seed: EVAL_SEED_BASE + index,
    background: backgroundLayer(c.background, DIMS, c.bg?.x ?? 0, c.bg?.y ?? 0, c.bg?.hflip ?? false),
    people: c.people,
    ...c.extra,
  };
  const backgrounds = [c.background, ...(c.textures ?? [])];
  return { name: c.name, description: c.description, kind: c.kind, scene, bitrate: c.bitrate, people: [...new Set(c.people.map((p) => p.sprite as PersonId))], backgrounds, ...(c.optional ? { optional: true } : {}), ...(c.cast ? { cast: c.cast } : {}) };
}

/** A person cut off at the bottom (bust), standing on the frame's bottom edge (6 px below it, so the cut never shows). */
export const BUST: Pick<PersonLayer, 'anchor'> = { anchor: [0.5, 1] };
export const FLOOR = EVAL_HEIGHT + 6;

const OCCLUDER_PANEL: OccluderLayer = {
  shape: 'rect',
  w: 150,
  h: 520,
  // Off frame at 0, right edge of the frame at ≈ 85: 10.5 px/frame left to right.
  x: { base: -150, rate: 10.5 },
  y: 240,
  fill: texture('board', 150, 520),
};
const OCCLUDER_BALL: OccluderLayer = {
  shape: 'ellipse',
  w: 110,
  h: 110,
  // Right to left across the face, frames ≈ 20–90.
  x: { base: 760 + 20 * 12, rate: -12 },
  y: 200,
  fill: [205, 70, 45],
};

/** The single-person evaluation clips (and the one two-person crossing), in benchmark order; catalog.ts adds the multi-person ones (multiClips.ts). */
export function singlePersonClipDefinitions(): ClipDefinition[] {
  return [
    evalClip(0, {
      name: 'fast-translation-blur',
      description: 'woman (bust) sweeping left↔right at 34 px/frame with reversals, motion blur over 80 % of the frame interval; plant/wallpaper; 500 kbit/s',
      kind: 'moving',
      bitrate: 500_000,
      background: 'aloe',
      people: [{ sprite: 'portrait-woman', ...BUST, height: 400, x: { base: 320, waves: [{ amp: 220, period: 26, shape: 'triangle' }] }, y: FLOOR }],
      extra: { blur: { samples: 9, shutter: 0.8 } },
    }),
    evalClip(1, {
      name: 'zoom-rotate',
      description: 'football player zooming 0.7–1.3× and rolling ±18° about his centre, slight drift, motion blur; yellow palace and sky; 600 kbit/s',
      kind: 'moving',
      bitrate: 600_000,
      background: 'home',
      people: [{
        sprite: 'messi',
        anchor: [0.5, 0.5],
        height: 280,
        x: { base: 330, waves: [{ amp: 30, period: 90 }] },
        y: { base: 250, waves: [{ amp: 15, period: 70, phase: 0.3 }] },
        scale: { base: 1, waves: [{ amp: 0.3, period: 60 }] },
        rotation: { base: 0, waves: [{ amp: 18, period: 45, phase: 0.25 }] },
      }],
      extra: { blur: { samples: 5, shutter: 0.5 } },
    }),
    evalClip(2, {
      name: 'nonrigid-sway',
      description: 'standing woman (full body) swaying: smooth travelling displacement field, feet planted, up to 14 px at the head, slow drift; office building; 400 kbit/s',
      kind: 'moving',
      bitrate: 400_000,
      background: 'building',
      people: [{
        sprite: 'render-woman',
        anchor: [0.5, 1],
        height: 400,
        x: { base: 300, waves: [{ amp: 40, period: 90 }] },
        y: 455,
        warp: { ampX: 14, ampY: 4, wavelength: 260, speed: (2 * Math.PI) / 30, pinned: true },
      }],
      extra: { blur: { samples: 3, shutter: 0.5 } },
    }),
    evalClip(3, {
      name: 'pan-walk',
      description: 'man walking right at 5.5 px/frame with a gait bob while the camera pans right at 3 px/frame; street of brick houses; 700 kbit/s',
      kind: 'moving',
      bitrate: 700_000,
      background: 'leuven',
      bg: { x: { base: 2, rate: 3 }, y: { base: 8, waves: [{ amp: 6, period: 60 }] } },
      people: [{
        sprite: 'walker',
        anchor: [0.5, 1],
        height: 330,
        x: { base: 110, rate: 5.5 },
        y: { base: 445, waves: [{ amp: 3, period: 15 }] },
        warp: { ampX: 4, ampY: 0, wavelength: 300, speed: (2 * Math.PI) / 15, pinned: true },
      }],
      extra: { blur: { samples: 3, shutter: 0.5 } },
    }),
    evalClip(4, {
      name: 'occluder-noise-flicker',
      description: 'man (bust) drifting while a circuit-board panel crosses in front (frames ≈ 5–85) and a red ball crosses his face (≈ 25–90); sensor noise σ=7, gain flicker ±8 %; books; 350 kbit/s',
      kind: 'moving',
      bitrate: 350_000,
      background: 'books',
      textures: ['board'],
      people: [{ sprite: 'suit-man', ...BUST, height: 330, x: { base: 320, waves: [{ amp: 20, period: 70 }] }, y: FLOOR }],
      extra: { occluders: [OCCLUDER_PANEL, OCCLUDER_BALL], noise: { sigma: 7 }, flicker: { amp: 0.08, period: 11, jitter: 0.04 } },
    }),
    evalClip(5, {
      name: 'static-breathing',
      description: 'woman (bust) almost still: breathing-like 0.8 % scale and 1.5 px bob over 3 s, 2 px sway; toys on a shelf; 300 kbit/s, mild noise σ=2',
      kind: 'static',
      bitrate: 300_000,
      background: 'toys',
      people: [{
        sprite: 'portrait-woman',
        ...BUST,
        height: 420,
        x: { base: 280, waves: [{ amp: 2, period: 150 }] },
        y: { base: FLOOR, waves: [{ amp: 1.5, period: 90, phase: 0.25 }] },
        scale: { base: 1, waves: [{ amp: 0.008, period: 90 }] },
      }],
      extra: { noise: { sigma: 2 } },
    }),
    evalClip(6, {
      name: 'static-desk-lowrate',
      description: 'man (bust) at a desk, near still: ±3 px sway and ±0.8° tilt; plant/wallpaper; 250 kbit/s (codec artefacts), noise σ=3',
      kind: 'static',
      bitrate: 250_000,
      background: 'aloe',
      people: [{
        sprite: 'suit-man',
        ...BUST,
        height: 300,
        x: { base: 380, waves: [{ amp: 3, period: 120 }] },
        y: FLOOR,
        rotation: { base: 0, waves: [{ amp: 0.8, period: 100 }] },
      }],
      extra: { noise: { sigma: 3 } },
    }),
    evalClip(7, {
      name: 'two-people-crossing',
      description: 'walking man (left → right, 5 px/frame) and a swaying woman (right → left, 3.5 px/frame) cross, she passes in front; office building; 800 kbit/s',
      kind: 'moving',
      bitrate: 800_000,
      background: 'building',
      people: [
        { sprite: 'walker', anchor: [0.5, 1], height: 300, x: { base: 90, rate: 5 }, y: { base: 430, waves: [{ amp: 3, period: 15 }] } },
        {
          sprite: 'render-woman',
          anchor: [0.5, 1],
          height: 340,
          x: { base: 520, rate: -3.5 },
          y: 465,
          warp: { ampX: 8, ampY: 2, wavelength: 240, speed: (2 * Math.PI) / 40, pinned: true },
        },
      ],
      extra: { blur: { samples: 3, shutter: 0.5 } },
    }),
    evalClip(8, {
      name: 'skimage-independent',
      description: 'HELD OUT (scikit-image photos only): astronaut (bust) swinging ±120 px, zooming ±10 %, tilting ±5°, camera panning 1.5 px/frame, motion blur; garage with motorcycle; 500 kbit/s',
      kind: 'moving',
      bitrate: 500_000,
      background: 'garage',
      bg: { x: { base: 1, rate: 1.5 } },
      people: [{
        sprite: 'astronaut',
        ...BUST,
        height: 380,
        x: { base: 320, waves: [{ amp: 120, period: 80 }] },
        // Lower than the other busts: a 5° tilt lifts the corners of her ≈ 400 px wide cut edge by ≈ 17 px.
        y: FLOOR + 24,
        scale: { base: 1, waves: [{ amp: 0.1, period: 50 }] },
        rotation: { base: 0, waves: [{ amp: 5, period: 64 }] },
      }],
      extra: { blur: { samples: 5, shutter: 0.5 } },
      optional: true,
    }),
  ];
}
