/**
 * Sanity checks of a clip definition against its cut-outs, for the preview and for whoever
 * adds a clip: a person cut off by their source photo (a bust) must never show that cut edge
 * inside the frame, and a person should be mostly on screen. Pure.
 */
import { personPose, type PersonLayer, type SceneSpec } from './composite.js';
import { spriteToFrame } from './sprite.js';

export interface CutoutShape {
  readonly width: number;
  readonly height: number;
  /** Straight RGBA. */
  readonly rgba: Uint8Array;
  readonly cut: { readonly top: number; readonly bottom: number; readonly left: number; readonly right: number };
}

export interface CutEdgeIssue {
  readonly person: string;
  readonly side: 'top' | 'bottom' | 'left' | 'right';
  /** Frames where some of that edge is more than `inset` px inside the frame. */
  readonly frames: number[];
}

/** A side counts as cut when at least this many px of the source crop's border were opaque. */
const MIN_CUT = 8;

/**
 * Frames where a cut edge of a person (the sides the cut-out's `cut` reports) comes more than
 * `inset` px into the frame. Checks the opaque (alpha ≥ 128) pixels of the cut-out's outermost
 * opaque row/column on that side, at the frame times (warp ignored: pinned warps do not move
 * the anchor side).
 */
export function visibleCutEdges(scene: SceneSpec, cutouts: ReadonlyMap<string, CutoutShape>, inset = 1): CutEdgeIssue[] {
  const issues: CutEdgeIssue[] = [];
  for (const p of scene.people) {
    const c = cutouts.get(p.sprite);
    if (!c) continue;
    for (const side of ['top', 'bottom', 'left', 'right'] as const) {
      if (c.cut[side] < MIN_CUT) continue;
      const pts = edgePoints(c, side);
      const frames: number[] = [];
      for (let i = 0; i < scene.frames; i++) {
        const { pose, ax, ay } = personPose(p, c, i);
        const inside = pts.some(([u, v]) => {
          const f = spriteToFrame(u, v, ax, ay, pose);
          return f.x > inset && f.x < scene.width - inset && f.y > inset && f.y < scene.height - inset;
        });
        if (inside) frames.push(i);
      }
      if (frames.length) issues.push({ person: p.sprite, side, frames });
    }
  }
  return issues;
}

/** Opaque pixels of the outermost row/column on `side` that has any, as sprite coordinates of their outer edge. */
function edgePoints(c: CutoutShape, side: 'top' | 'bottom' | 'left' | 'right'): [number, number][] {
  const a = (x: number, y: number) => c.rgba[(y * c.width + x) * 4 + 3]!;
  const horizontal = side === 'top' || side === 'bottom';
  const lines = horizontal ? c.height : c.width;
  const len = horizontal ? c.width : c.height;
  for (let k = 0; k < lines; k++) {
    const line = side === 'top' || side === 'left' ? k : lines - 1 - k;
    const pts: [number, number][] = [];
    for (let j = 0; j < len; j++) {
      const [x, y] = horizontal ? [j, line] : [line, j];
      if (a(x, y) >= 128) pts.push(horizontal ? [x + 0.5, side === 'top' ? y : y + 1] : [side === 'left' ? x : x + 1, y + 0.5]);
    }
    if (pts.length) return pts;
  }
  return [];
}

/**
 * Share of the people's total coverage that is inside the frame, per frame (1 = fully on
 * screen; occluders lower it too). GT = the clip's ground truth.
 */
export function onScreenShare(scene: SceneSpec, cutouts: ReadonlyMap<string, CutoutShape>, gt: readonly Uint8Array[]): number[] {
  const area = new Map<string, number>();
  for (const [k, c] of cutouts) {
    let s = 0;
    for (let i = 3; i < c.rgba.length; i += 4) s += c.rgba[i]! / 255;
    area.set(k, s);
  }
  return gt.map((g, i) => {
    let full = 0;
    for (const p of scene.people) {
      const c = cutouts.get(p.sprite);
      if (!c) continue;
      const { pose } = personPose(p, c, i);
      full += area.get(p.sprite)! * pose.scale * pose.scale;
    }
    let seen = 0;
    for (const v of g) seen += v / 255;
    return full > 0 ? seen / full : 0;
  });
}

/**
 * Share of a person's body (alpha mass of the cut-out, sampled every `step` sprite px) that lies
 * inside the frame at time t, from the pose alone (warp ignored; occlusion ignored). A cheap
 * stand-in for the renderer's RenderedFrame.inFrame, for checking definitions without rendering.
 */
export function inFrameShare(p: PersonLayer, c: CutoutShape, t: number, width: number, height: number, step = 2): number {
  const { pose, ax, ay } = personPose(p, c, t);
  let all = 0, inside = 0;
  for (let v = 0; v < c.height; v += step) {
    for (let u = 0; u < c.width; u += step) {
      const a = c.rgba[(v * c.width + u) * 4 + 3]!;
      if (!a) continue;
      all += a;
      const f = spriteToFrame(u + 0.5, v + 0.5, ax, ay, pose);
      if (f.x >= 0 && f.x < width && f.y >= 0 && f.y < height) inside += a;
    }
  }
  return all ? inside / all : 0;
}
