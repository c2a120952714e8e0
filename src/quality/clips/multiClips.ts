/**
 * Multi-person evaluation clips (kind 'multi'): two to four people at different sizes, as in a
 * video call from a meeting room or a street: busts side by side, people standing or walking at
 * a distance, someone walking in from the side, two crossing, one leaving, small people far
 * apart at the frame's edges, a group close together. Rendered with per-person truth
 * (ClipDefinition.cast → QualityClip.people) so the benchmark can score every person
 * (src/quality/personMetrics.ts). Pure data, like evalClips.ts; seeds follow the single-person
 * clips' (EVAL_SEED_BASE + 9 …).
 *
 * Placement: full-body people stand on the floor of the photo with their feet at
 * horizon + 0.93 × standing height (a camera at eye height: everyone's eyes are on the horizon,
 * so nearer is larger and lower), the horizon read off each photo (leuven street ≈ 290, the
 * building's lawn ≈ 350 at 640×480); busts stand on the frame's bottom edge (FLOOR). The seated
 * woman (stool-woman: her stool is matted out) counts as 0.72 of her standing height. Sizes go
 * down to ≈ 85–100 px tall, where per-frame segmentation starts to lose people.
 *
 * Sources: the people of src/quality/clips/sources.ts except the held-out astronaut, on the
 * opencv-doc photos (shared with training, like the other opencv-based clips); each person
 * appears once per clip.
 */
import type { PersonLayer, PersonWarp } from './composite.js';
import { BUST, evalClip, EVAL_HEIGHT, FLOOR } from './evalClips.js';
import type { Signal } from './motion.js';
import type { PersonId } from './sources.js';
import type { CastRole, ClipDefinition } from './types.js';

/** First seed offset of the multi-person clips (the single-person clips use 0–8). */
export const MULTI_SEED_OFFSET = 9;

/** Seated height / standing height (stool-woman). */
export const SEATED_RATIO = 0.72;

/** Feet row of a person of standing height h px whose eyes are on the horizon (eyes at 93 % of the height). */
export function feetOnFloor(horizon: number, standingHeight: number): number {
  return Math.round(horizon + 0.93 * standingHeight);
}

/** Gait of a walking person `h` px tall: a bob of 1 % of the height and a sway of 1.2 % every 15 frames (½ s per step pair at 30 fps). */
function gait(h: number): { bob: number; warp: PersonWarp } {
  return { bob: 0.01 * h, warp: { ampX: 0.012 * h, ampY: 0, wavelength: 0.9 * h, speed: (2 * Math.PI) / 15, pinned: true } };
}

interface Member {
  readonly name: string;
  readonly role: CastRole;
  readonly layer: PersonLayer;
}

function bust(sprite: PersonId, height: number, x: Signal, extra: Partial<PersonLayer> = {}, role: CastRole = 'stays'): Member {
  return { name: sprite, role, layer: { sprite, ...BUST, height, x, y: FLOOR, ...extra } };
}

/** A full-body person standing (or seated) on the floor of a photo with this horizon. */
function standing(sprite: PersonId, height: number, horizon: number, x: Signal, extra: Partial<PersonLayer> = {}, role: CastRole = 'stays'): Member {
  const standingHeight = sprite === 'stool-woman' ? height / SEATED_RATIO : height;
  return { name: sprite, role, layer: { sprite, anchor: [0.5, 1], height, x, y: feetOnFloor(horizon, standingHeight), ...extra } };
}

/** A full-body person walking along x(t) with a gait (bob and sway). */
function walking(sprite: PersonId, height: number, horizon: number, x: Signal, role: CastRole, feetY?: number): Member {
  const g = gait(height);
  const y = feetY ?? feetOnFloor(horizon, height);
  return { name: sprite, role, layer: { sprite, anchor: [0.5, 1], height, x, y: { base: y, waves: [{ amp: g.bob, period: 15 }] }, warp: g.warp } };
}

function multi(index: number, name: string, description: string, bitrate: number, background: 'aloe' | 'books' | 'leuven' | 'building', members: readonly Member[], o: { hflip?: boolean; blur?: boolean; noise?: number } = {}): ClipDefinition {
  return evalClip(MULTI_SEED_OFFSET + index, {
    name,
    description,
    kind: 'multi',
    bitrate,
    background,
    ...(o.hflip ? { bg: { hflip: true } } : {}),
    people: members.map((m) => m.layer),
    cast: members.map((m) => ({ name: m.name, role: m.role })),
    extra: { ...(o.blur ? { blur: { samples: 3, shutter: 0.5 } } : {}), ...(o.noise ? { noise: { sigma: o.noise } } : {}) },
  });
}

const LEUVEN_HORIZON = 290;
const LAWN_HORIZON = 350;

/** The multi-person evaluation clips, in benchmark order. People are listed back to front (later ones pass in front). */
export function multiPersonClipDefinitions(): ClipDefinition[] {
  return [
    multi(0, 'multi-call-two',
      'video call, two people side by side: man (bust, 250 px) left, woman (bust, 330 px, nearer) right, shoulders almost touching, slow sway and breathing; wallpaper and plant; 400 kbit/s, noise σ=2',
      400_000, 'aloe', [
        bust('suit-man', 250, { base: 180, waves: [{ amp: 6, period: 110 }] }, { scale: { base: 1, waves: [{ amp: 0.008, period: 90 }] } }),
        bust('portrait-woman', 330, { base: 470, waves: [{ amp: 8, period: 95, phase: 0.3 }] }, { rotation: { base: 0, waves: [{ amp: 1.5, period: 120 }] } }),
      ], { noise: 2 }),
    multi(1, 'multi-call-enter',
      'meeting room, two seated people (busts, 300 and 230 px) and a third (walker, 470 px, feet below the frame) walking in from the right behind them at 8 px/frame (frames 22–52; visible from frame 30, fully in from 44), then standing; books; 500 kbit/s, motion blur',
      500_000, 'books', [
        walking('walker', 470, 0, { keys: [[0, 760], [22, 760], [52, 520]] }, 'enters', 560),
        bust('portrait-woman', 300, { base: 160, waves: [{ amp: 5, period: 100 }] }),
        bust('suit-man', 230, { base: 430, waves: [{ amp: 6, period: 80, phase: 0.5 }] }, { rotation: { base: 0, waves: [{ amp: 1, period: 90 }] } }),
      ], { blur: true }),
    multi(2, 'multi-four-sizes',
      'street, four people at four distances: football player kicking far away (100 px), man walking right at 2.5 px/frame (140 px, passes behind the woman at the end), woman in white standing (200 px), woman in front (bust, 360 px, partly out of the frame on the right); cobbled street; 600 kbit/s, motion blur',
      600_000, 'leuven', [
        standing('messi', 100, LEUVEN_HORIZON, 300, { y: feetOnFloor(LEUVEN_HORIZON, 115), rotation: { base: 0, waves: [{ amp: 3, period: 40 }] } }),
        walking('walker', 140, LEUVEN_HORIZON, { base: 150, rate: 2.5 }, 'stays'),
        standing('render-woman', 200, LEUVEN_HORIZON, { base: 95, waves: [{ amp: 4, period: 90 }] }, { warp: { ampX: 5, ampY: 1, wavelength: 180, speed: (2 * Math.PI) / 40, pinned: true } }),
        bust('portrait-woman', 360, { base: 505, waves: [{ amp: 6, period: 100 }] }),
      ], { blur: true }),
    multi(3, 'multi-edges-small',
      'small people far apart: woman in white (95 px) at the left edge, seated woman (85 px) at the right edge, and a man (115 px) walking in from the left at 3.3 px/frame (frames 20–89; visible from frame 38, fully in from 45) in front of the woman; lawn before an office building; 500 kbit/s, motion blur',
      500_000, 'building', [
        standing('render-woman', 95, LAWN_HORIZON, { base: 45, waves: [{ amp: 2, period: 70 }] }, { warp: { ampX: 2, ampY: 0.5, wavelength: 90, speed: (2 * Math.PI) / 45, pinned: true } }),
        standing('stool-woman', 85, LAWN_HORIZON, { base: 600, waves: [{ amp: 1.5, period: 80 }] }),
        walking('walker', 115, LAWN_HORIZON, { keys: [[0, -70], [20, -70], [89, 160]] }, 'enters'),
      ], { blur: true }),
    multi(4, 'multi-crossing-leave',
      'two people crossing on a street: man (170 px) walking right at 5.5 px/frame, leaving the frame (partly out from ≈ 65, not visible from 75), woman in white (190 px) walking left at 3 px/frame, passing in front of him at ≈ frame 36; cobbled street; 700 kbit/s, motion blur',
      700_000, 'leuven', [
        walking('walker', 170, LEUVEN_HORIZON, { base: 250, rate: 5.5 }, 'leaves'),
        walking('render-woman', 190, LEUVEN_HORIZON, { base: 560, rate: -3 }, 'stays'),
      ], { blur: true }),
    multi(5, 'multi-close-group',
      'four people close together: seated woman (290 px) left, woman in white standing behind (430 px, feet below the frame), man (bust, 230 px) and woman (bust, 300 px, leaning in and out ±15 px) in front, overlapping; mirrored wallpaper and plant; 450 kbit/s, noise σ=2',
      450_000, 'aloe', [
        standing('render-woman', 430, 0, { base: 330, waves: [{ amp: 5, period: 100 }] }, { y: 575, warp: { ampX: 6, ampY: 1, wavelength: 380, speed: (2 * Math.PI) / 60, pinned: true } }),
        // Close to the camera: her feet just below the frame.
        standing('stool-woman', 290, 0, { base: 78, waves: [{ amp: 3, period: 90 }] }, { y: EVAL_HEIGHT + 6 }),
        // 6 px lower than a still bust: a 2° tilt lifts the corners of his 310 px wide cut edge by ≈ 5.4 px.
        bust('suit-man', 230, { base: 235, waves: [{ amp: 4, period: 85 }] }, { y: FLOOR + 6, rotation: { base: 0, waves: [{ amp: 2, period: 70 }] } }),
        bust('portrait-woman', 300, { base: 470, waves: [{ amp: 15, period: 60 }] }),
      ], { hflip: true, noise: 2 }),
  ];
}
