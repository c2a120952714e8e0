/**
 * The pixels a scene needs, named by keys inside the scene spec so the spec stays plain data:
 * photos as "photo:<id>:<w>x<h>[:hflip]" (the photo scaled to cover w × h and centre-cropped,
 * optionally mirrored) and cut-outs by person id.
 */
import type { RgbImage } from '../../decode/types.js';
import type { SceneAssets, SceneSpec } from './composite.js';
import type { Cutout } from './cutouts.js';
import { decodeCover } from './imageIo.js';
import { BACKGROUNDS, photoPath, type BackgroundId, type PersonId } from './sources.js';
import { spriteFromRgba, type Sprite } from './sprite.js';

export class AssetKeyError extends Error {
  override readonly name = 'AssetKeyError';
}

export interface PhotoRequest {
  readonly id: BackgroundId;
  readonly width: number;
  readonly height: number;
  readonly hflip: boolean;
}

export function photoKey(r: PhotoRequest): string {
  return `photo:${r.id}:${r.width}x${r.height}${r.hflip ? ':hflip' : ''}`;
}

export function parsePhotoKey(key: string): PhotoRequest {
  const m = /^photo:([A-Za-z0-9_-]+):(\d+)x(\d+)(:hflip)?$/.exec(key);
  if (!m || !(m[1]! in BACKGROUNDS)) throw new AssetKeyError(`"${key}" is not a photo key (photo:<id>:<w>x<h>[:hflip] with id one of ${Object.keys(BACKGROUNDS).join(', ')})`);
  return { id: m[1] as BackgroundId, width: Number(m[2]), height: Number(m[3]), hflip: m[4] !== undefined };
}

/** Every photo key a scene uses (background and textured occluders). */
export function sceneImageKeys(scene: SceneSpec): string[] {
  const keys = [scene.background.image];
  for (const o of scene.occluders ?? []) if (!Array.isArray(o.fill)) keys.push((o.fill as { image: string }).image);
  return [...new Set(keys)];
}

/** Photos referenced by a scene, by id (for source lists and cache keys). */
export function scenePhotos(scene: SceneSpec): BackgroundId[] {
  return [...new Set(sceneImageKeys(scene).map((k) => parsePhotoKey(k).id))];
}

/** Decodes the scene's photos (ffmpeg) and premultiplies its cut-outs. */
export function loadSceneAssets(scene: SceneSpec, cutouts: ReadonlyMap<PersonId, Cutout>): SceneAssets {
  const images = new Map<string, RgbImage>();
  for (const key of sceneImageKeys(scene)) {
    const r = parsePhotoKey(key);
    images.set(key, { width: r.width, height: r.height, data: decodeCover(photoPath(BACKGROUNDS[r.id]), r.width, r.height, { hflip: r.hflip }) });
  }
  const sprites = new Map<string, Sprite>();
  for (const p of scene.people) {
    const c = cutouts.get(p.sprite as PersonId);
    if (!c) throw new AssetKeyError(`scene uses cut-out "${p.sprite}", which was not loaded`);
    sprites.set(p.sprite, spriteFromRgba(c.rgba, c.width, c.height));
  }
  return { images, sprites };
}
