/**
 * Seeded sampler of training-clip definitions: random people, background, motion and
 * strength from the NON-held-out sources (never python3-skimage's photos, which only the
 * independent evaluation clip uses), plus augmentation: person scale and mirror, background
 * mirror, colour jitter (per-channel gain/offset, saturation), sensor noise, defocus blur,
 * motion blur, flicker, occluders, and a VP8 round trip at a random WebRTC bitrate. Pure.
 *
 * Seeds: a training clip's random stream is seeded(TRAINING_SALT, seed, index), and its scene
 * seed is drawn from that stream; evaluation clips use EVAL_SEED_BASE + index directly. The
 * streams are disjoint by construction, so no training clip repeats an evaluation clip's
 * noise, even for equal user seeds. The photos themselves ARE shared with the opencv-based
 * evaluation clips (see evalClips.ts).
 */
import { scenePhotos } from './assets.js';
import type { OccluderLayer, PersonLayer, SceneSpec } from './composite.js';
import { backgroundLayer, texture } from './evalClips.js';
import { seeded, type Signal } from './motion.js';
import { BACKGROUNDS, PEOPLE, isHeldOut, type BackgroundId, type PersonId } from './sources.js';
import type { ClipDefinition } from './types.js';
import { MAX_BITRATE, MIN_BITRATE } from './codec.js';

/** Mixed into every training seed (see the file comment). */
export const TRAINING_SALT = 0x7ba1d5e3;

/** People cut off at the bottom by their photo: they must stand on the frame's bottom edge. */
const BUSTS: ReadonlySet<PersonId> = new Set(['portrait-woman', 'suit-man', 'astronaut']);

export const TRAINING_PEOPLE: readonly PersonId[] = (Object.keys(PEOPLE) as PersonId[]).filter((p) => !isHeldOut(PEOPLE[p].photo));
export const TRAINING_BACKGROUNDS: readonly BackgroundId[] = (Object.keys(BACKGROUNDS) as BackgroundId[]).filter((b) => !isHeldOut(BACKGROUNDS[b]));

export type TrainingMotion = 'translate' | 'zoom-rotate' | 'sway' | 'walk-pan' | 'still';
const MOTIONS: readonly TrainingMotion[] = ['translate', 'zoom-rotate', 'sway', 'walk-pan', 'still'];

export interface TrainingDims {
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly fps: number;
}

class Sampler {
  constructor(private readonly r: () => number) {}
  u(a: number, b: number): number {
    return a + (b - a) * this.r();
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.min(xs.length - 1, Math.floor(this.r() * xs.length))]!;
  }
  sign(): 1 | -1 {
    return this.r() < 0.5 ? -1 : 1;
  }
}

/** A person layer doing `motion` at `strength` (0..1). */
function samplePerson(s: Sampler, id: PersonId, motion: TrainingMotion, strength: number, d: TrainingDims): PersonLayer {
  const bust = BUSTS.has(id);
  const height = d.height * (bust ? s.u(0.55, 0.9) : s.u(0.45, 0.85));
  const k = strength;
  const rotAmp = motion === 'zoom-rotate' ? s.u(2, bust ? 4 : 20) * k : 0;
  // Busts stand below the bottom edge, lower when tilting (a corner of a ≈ 1.4·height wide cut rises by ≈ 0.7·height·sin θ).
  const floorY = d.height + 6 + 0.7 * height * Math.sin((rotAmp * Math.PI) / 180);
  const y = bust ? floorY : d.height * s.u(0.85, 1.02);
  const x0 = d.width * s.u(0.25, 0.75);
  const common = { sprite: id, anchor: [0.5, 1] as const, height, flip: s.chance(0.5) };
  switch (motion) {
    case 'translate': {
      const amp = d.width * s.u(0.1, 0.35);
      const speed = s.u(4, 40) * k;
      // Period so that the sweep runs at `speed` px/frame (triangle) or peaks at it (sine).
      const shape = s.chance(0.5) ? 'triangle' : 'sine';
      const period = shape === 'triangle' ? (4 * amp) / speed : (2 * Math.PI * amp) / speed;
      return { ...common, x: { base: x0, waves: [{ amp, period, shape, phase: s.u(0, 1) }] }, y };
    }
    case 'zoom-rotate':
      return {
        ...common,
        x: { base: x0, waves: [{ amp: s.u(0, 40), period: s.u(40, 120) }] },
        y,
        scale: { base: 1, waves: [{ amp: s.u(0.05, 0.3) * k, period: s.u(30, 90), phase: s.u(0, 1) }] },
        rotation: { base: 0, waves: [{ amp: rotAmp, period: s.u(30, 90), phase: s.u(0, 1) }] },
      };
    case 'sway':
      return {
        ...common,
        x: { base: x0, waves: [{ amp: s.u(5, 40), period: s.u(60, 150) }] },
        y,
        warp: { ampX: s.u(4, 16) * k, ampY: s.u(0, 4) * k, wavelength: s.u(0.5, 0.8) * height, speed: (2 * Math.PI) / s.u(20, 60), pinned: true },
      };
    case 'walk-pan': {
      const dir = s.sign();
      const rate = dir * s.u(1.5, 7) * k;
      const start = dir > 0 ? d.width * s.u(0.1, 0.35) : d.width * s.u(0.65, 0.9);
      return { ...common, flip: dir < 0, x: { base: start, rate }, y: { base: y, waves: [{ amp: s.u(1, 4), period: s.u(12, 18) }] } };
    }
    case 'still':
      return {
        ...common,
        x: { base: x0, waves: [{ amp: s.u(0, 4), period: s.u(80, 200) }] },
        y: { base: y, waves: [{ amp: s.u(0, 2), period: s.u(60, 120) }] },
        scale: { base: 1, waves: [{ amp: s.u(0, 0.01), period: s.u(60, 120) }] },
      };
  }
}

function sampleOccluder(s: Sampler, d: TrainingDims): OccluderLayer {
  const rect = s.chance(0.6);
  const w = Math.round(rect ? s.u(60, 200) : s.u(60, 140));
  const h = Math.round(rect ? s.u(150, d.height + 40) : w * s.u(0.8, 1.2));
  const dir = s.sign();
  // Crosses the whole frame during the clip, entering after a random delay.
  const speed = ((d.width + w) / d.frames) * s.u(1, 2.5);
  const delay = s.u(0, d.frames * 0.3);
  const x: Signal = dir > 0 ? { base: -w / 2 - speed * delay, rate: speed } : { base: d.width + w / 2 + speed * delay, rate: -speed };
  const fill = s.chance(0.5) ? texture(s.pick(TRAINING_BACKGROUNDS), w, h) : ([s.u(0, 255), s.u(0, 255), s.u(0, 255)] as const);
  return { shape: rect ? 'rect' : 'ellipse', w, h, x, y: d.height * s.u(0.3, 0.7), fill };
}

/** The definition of training clip `index` of stream `seed`. Deterministic. */
export function trainingDefinition(seed: number, index: number, d: TrainingDims): ClipDefinition {
  const s = new Sampler(seeded(TRAINING_SALT, seed, index));
  const motion = s.pick(MOTIONS);
  const strength = s.u(0.3, 1);
  const ids = [s.pick(TRAINING_PEOPLE)];
  if (s.chance(0.2)) ids.push(s.pick(TRAINING_PEOPLE.filter((p) => p !== ids[0])));
  const people = ids.map((id) => samplePerson(s, id, motion, strength, d));
  const bgId = s.pick(TRAINING_BACKGROUNDS);
  const panRate = motion === 'walk-pan' ? s.sign() * s.u(0, 4) : 0;
  // The window offset must stay ≥ 0 at every sub-frame time (−0.5 … frames − 0.5).
  const bgX: Signal = { base: 1 + Math.abs(panRate) * (panRate >= 0 ? 0.5 : d.frames + 0.5), rate: panRate };
  const occluders = s.chance(0.3) ? [sampleOccluder(s, d)] : [];
  const scene: SceneSpec = {
    ...d,
    seed: Math.floor(s.u(0, 2 ** 31)),
    background: backgroundLayer(bgId, d, bgX, 0, s.chance(0.5)),
    people,
    ...(occluders.length ? { occluders } : {}),
    ...(s.chance(0.5) ? { blur: { samples: Math.round(s.u(3, 7)), shutter: s.u(0.3, 1) } } : {}),
    ...(s.chance(0.2) ? { defocus: { radius: Math.round(s.u(1, 2)) } } : {}),
    ...(s.chance(0.3) ? { flicker: { amp: s.u(0, 0.1), period: s.u(5, 40), jitter: s.u(0, 0.05) } } : {}),
    colour: { gain: [s.u(0.85, 1.15), s.u(0.85, 1.15), s.u(0.85, 1.15)], offset: [s.u(-12, 12), s.u(-12, 12), s.u(-12, 12)], saturation: s.u(0.7, 1.3) },
    noise: { sigma: s.u(0, 8) },
  };
  const bitrate = Math.round(s.u(MIN_BITRATE, MAX_BITRATE) / 10_000) * 10_000;
  return {
    name: `train-${seed}-${index}`,
    description: `${motion} (strength ${strength.toFixed(2)}) of ${ids.join(' + ')} on ${bgId}${occluders.length ? ' with an occluder' : ''}; ${bitrate / 1000} kbit/s`,
    kind: motion === 'still' ? 'static' : 'moving',
    scene,
    bitrate,
    people: ids,
    backgrounds: scenePhotos(scene),
  };
}
