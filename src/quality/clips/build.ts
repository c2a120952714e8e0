/**
 * Turns clip definitions into finished clips (render → exact GT, RGB → I420 → VP8 round
 * trip) and caches finished clips on disk, so the benchmark renders each clip once:
 * <project>/.cache/quality/clips/<name>-<key>/{clip.y4m, gt.raw, meta.json}, key = sha256 of
 * the definition, GENERATOR_VERSION, the cut-outs' keys and the photos' sha256. Multi-person
 * clips (a definition with a cast) also keep their per-person truth (people.raw, personTruth.ts).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { rgbToI420 } from '../../decode/yuvToRgb.js';
import type { I420Picture } from '../../decode/types.js';
import { projectRoot } from '../../paths.js';
import { loadSceneAssets, scenePhotos } from './assets.js';
import { readGtRaw, readY4m, writeGtRaw, writeY4m } from './clipFiles.js';
import { vp8RoundTrip } from './codec.js';
import { renderFrame, type SceneAssets } from './composite.js';
import { cutoutKey, loadCutouts, type Cutout } from './cutouts.js';
import { fileSha256, sha256Hex } from './imageIo.js';
import { alphaBox, personTruthMeta, readPeopleRaw, writePeopleRaw, type PersonTruthMeta } from './personTruth.js';
import { BACKGROUNDS, PEOPLE, photoAvailable, photoPath, type PersonId } from './sources.js';
import type { AlphaBox, ClipDefinition, PersonTruth, QualityClip } from './types.js';

/** Bump when rendering or the codec round trip changes in a way the definitions do not show. */
export const GENERATOR_VERSION = 1;

export class ClipBuildError extends Error {
  override readonly name = 'ClipBuildError';
}

export interface BuildOptions {
  /** Finished clips; default <project>/.cache/quality/clips. */
  readonly cacheDir?: string;
  /** Cut-outs; default <project>/.cache/quality/cutouts. */
  readonly cutoutDir?: string;
  /** false: render even when a cached clip exists (and overwrite it). Default true. */
  readonly useCache?: boolean;
  /** Progress and notices (default: none). */
  readonly log?: (msg: string) => void;
}

export function defaultClipDir(): string {
  return path.join(projectRoot(), '.cache', 'quality', 'clips');
}

/** Are all photos of a definition installed? */
export function sourcesAvailable(def: ClipDefinition): boolean {
  return def.people.every((p) => photoAvailable(PEOPLE[p].photo)) && scenePhotos(def.scene).every((b) => photoAvailable(BACKGROUNDS[b]));
}

/** Cache key of a finished clip (throws SourceMissingError when a source is not installed). */
export function definitionKey(def: ClipDefinition): string {
  const cutouts = def.people.map((p) => cutoutKey(p));
  const photos = scenePhotos(def.scene).map((b) => fileSha256(photoPath(BACKGROUNDS[b])));
  return sha256Hex(JSON.stringify({ v: GENERATOR_VERSION, def, cutouts, photos }));
}

/**
 * Renders every frame: RGB → I420 (BT.601, what a camera pipeline hands the encoder) and the
 * exact GT; with a cast, each person's visible coverage (cropped) and in-frame share too.
 */
export function renderFrames(def: ClipDefinition, assets: SceneAssets): { frames: I420Picture[]; gt: Uint8Array[]; people?: PersonTruth[] } {
  const { width: W, height: H } = def.scene;
  const cast = def.cast;
  if (cast && cast.length !== def.scene.people.length) throw new ClipBuildError(`${def.name}: cast has ${cast.length} entries for ${def.scene.people.length} people`);
  const frames: I420Picture[] = [];
  const gt: Uint8Array[] = [];
  const boxes: AlphaBox[][] = (cast ?? []).map(() => []);
  const inFrame: number[][] = (cast ?? []).map(() => []);
  for (let i = 0; i < def.scene.frames; i++) {
    const f = renderFrame(def.scene, assets, i, { people: cast !== undefined });
    frames.push(rgbToI420(f.rgb, W, H));
    gt.push(f.alpha);
    f.people?.forEach((a, k) => boxes[k]!.push(alphaBox(a, W, H)));
    f.inFrame?.forEach((v, k) => inFrame[k]!.push(v));
  }
  if (!cast) return { frames, gt };
  return { frames, gt, people: cast.map((c, k) => ({ name: c.name, role: c.role, alpha: boxes[k]!, inFrame: inFrame[k]! })) };
}

/** Renders a definition and sends it through VP8 at its bitrate. */
export async function renderClip(def: ClipDefinition, cutouts: ReadonlyMap<PersonId, Cutout>): Promise<QualityClip> {
  const { scene } = def;
  const { frames, gt, people } = renderFrames(def, loadSceneAssets(scene, cutouts));
  const rt = await vp8RoundTrip(frames, { bitrate: def.bitrate, fps: scene.fps });
  const bytes = rt.frameBytes.reduce((a, b) => a + b, 0);
  return {
    name: def.name,
    description: def.description,
    kind: def.kind,
    width: scene.width,
    height: scene.height,
    fps: scene.fps,
    frames: rt.frames,
    gt,
    bitrate: def.bitrate,
    actualBitrate: Math.round((bytes * 8 * scene.fps) / scene.frames),
    ...(people ? { people } : {}),
  };
}

interface CacheMeta {
  readonly key: string;
  readonly clip: Omit<QualityClip, 'frames' | 'gt' | 'people'>;
  readonly frames: number;
  /** Multi-person clips: the people's boxes and in-frame shares (bytes in people.raw). */
  readonly people?: readonly PersonTruthMeta[];
}

function readCachedClip(dir: string, key: string): QualityClip | undefined {
  const metaFile = path.join(dir, 'meta.json');
  if (!existsSync(metaFile)) return undefined;
  const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as CacheMeta;
  if (meta.key !== key) return undefined;
  const video = readY4m(path.join(dir, 'clip.y4m'));
  if (video.frames.length !== meta.frames) throw new ClipBuildError(`cached clip ${dir} has ${video.frames.length} frames, meta says ${meta.frames}; delete the folder to rebuild it`);
  const gt = readGtRaw(path.join(dir, 'gt.raw'), video.width, video.height, meta.frames);
  if (!meta.people) return { ...meta.clip, frames: video.frames, gt };
  return { ...meta.clip, frames: video.frames, gt, people: readPeopleRaw(path.join(dir, 'people.raw'), meta.people) };
}

/** Writes the cache folder under a temporary name and renames it: readers never see half a clip. */
function writeCachedClip(dir: string, key: string, clip: QualityClip): void {
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeY4m(path.join(tmp, 'clip.y4m'), clip.frames, clip.fps);
  writeGtRaw(path.join(tmp, 'gt.raw'), clip.gt);
  if (clip.people) writePeopleRaw(path.join(tmp, 'people.raw'), clip.people);
  const { frames, gt: _gt, people, ...info } = clip;
  const meta: CacheMeta = { key, clip: info, frames: frames.length, ...(people ? { people: people.map(personTruthMeta) } : {}) };
  writeFileSync(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

/** Deletes earlier versions of a clip (same name, other key): ≈ 70 MB each. */
function removeStale(cacheDir: string, name: string, keep: string): void {
  const mine = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9a-f]{16}$`);
  for (const d of readdirSync(cacheDir)) if (d !== keep && mine.test(d)) rmSync(path.join(cacheDir, d), { recursive: true, force: true });
}

/** One clip by definition: from the cache, or rendered (and cached). */
export async function buildClip(def: ClipDefinition, o: BuildOptions = {}): Promise<QualityClip> {
  const key = definitionKey(def);
  const dir = path.join(o.cacheDir ?? defaultClipDir(), `${def.name}-${key.slice(0, 16)}`);
  if (o.useCache !== false) {
    const cached = readCachedClip(dir, key);
    if (cached) return cached;
  }
  const t0 = performance.now();
  const cutouts = await loadCutouts(def.people, { cacheDir: o.cutoutDir, log: o.log });
  const clip = await renderClip(def, cutouts);
  writeCachedClip(dir, key, clip);
  removeStale(path.dirname(dir), def.name, path.basename(dir));
  o.log?.(`rendered ${def.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${dir}`);
  return clip;
}
