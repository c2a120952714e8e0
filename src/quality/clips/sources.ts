/**
 * Every photo the quality clips are built from, where it lives, and which of them are held out
 * of training.
 *
 * - `samples`: @vladmandic/human's sample sheet (models/assets/samples.jpg, sha256-checked by
 *   ModelStore): portrait thumbnails of people in its top row (1280×1158 sheet, rows 0–158).
 * - `opencv`: Debian opencv-doc's sample data (messi5.jpg, vtest.avi, scene photos).
 * - `skimage`: Debian python3-skimage's sample data (astronaut.png, motorcycle_left.png, …). HELD OUT:
 *   used only by the independent evaluation clip, never by training clips, so at least one
 *   evaluation shares neither person nor background with anything a model was trained on.
 *
 * Backgrounds are photos WITHOUT people (the ground truth calls every background pixel "not
 * person"); vtest.avi frames, for instance, are not usable as backgrounds.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ModelStore } from '../../inference/modelStore.js';
import type { Crop } from './imageIo.js';

export type PhotoPackage = 'samples' | 'opencv' | 'skimage';

export interface PhotoRef {
  readonly pkg: PhotoPackage;
  /** File name inside the package's folder. */
  readonly file: string;
}

/** A source photo is not installed. */
export class SourceMissingError extends Error {
  override readonly name = 'SourceMissingError';
}

export const OPENCV_DATA_DIR = '/usr/share/doc/opencv-doc/examples/data';
export const SKIMAGE_DATA_DIR = '/usr/lib/python3/dist-packages/skimage/data';

/** Packages never used for training (see the file comment). */
export const HELD_OUT_PACKAGES: readonly PhotoPackage[] = ['skimage'];

/** Absolute path of a source photo; throws SourceMissingError with the install command. */
export function photoPath(ref: PhotoRef): string {
  switch (ref.pkg) {
    case 'samples':
      return ModelStore.open().verifiedPath(`assets/${ref.file}`);
    case 'opencv':
      return existing(path.join(OPENCV_DATA_DIR, ref.file), 'apt-get install opencv-doc');
    case 'skimage':
      return existing(path.join(SKIMAGE_DATA_DIR, ref.file), 'apt-get install python3-skimage');
  }
}

/** Is the photo installed (without throwing)? */
export function photoAvailable(ref: PhotoRef): boolean {
  try {
    photoPath(ref);
    return true;
  } catch (e) {
    if (e instanceof SourceMissingError) return false;
    throw e;
  }
}

function existing(p: string, fix: string): string {
  if (!existsSync(p)) throw new SourceMissingError(`source photo ${p} is missing; ${fix}`);
  return p;
}

/** A person to cut out of a photo with RVM (see cutouts.ts). */
export interface PersonSource {
  readonly photo: PhotoRef;
  readonly description: string;
  /** Generous box around the person, source px (the cut-out is trimmed to the alpha afterwards). */
  readonly crop: Crop;
  /** For videos: time of the frame, s. */
  readonly atSeconds?: number;
  /** The crop is enlarged by this before matting (the thumbnails are ≈ 150 px tall; RVM's edges are better on ≥ 300 px). */
  readonly upscale: number;
  /** RVM downsample_ratio for this input (chosen by looking at the mattes: lower blurs small inputs, higher leaks background into large ones). */
  readonly downsampleRatio: number;
  /** Boxes (source px) RVM wrongly counts as person, erased from the alpha (e.g. the ball at a player's feet). */
  readonly erase?: readonly Crop[];
}

/**
 * The people. Crops were chosen by looking at each matte (alpha and RVM's foreground over
 * green). Thumbnails of the sheet left out: the woman at x=545 (RVM leaves her half
 * transparent with background smeared around her head) and the woman at x=641 (RVM takes the
 * shoe drawn on the wall behind her as part of her); the two group photos (people overlap).
 */
export const PEOPLE = {
  messi: {
    photo: { pkg: 'opencv', file: 'messi5.jpg' },
    description: 'football player mid-kick, full body, arms spread (messi5.jpg)',
    crop: { x: 0, y: 0, w: 548, h: 342 },
    upscale: 1,
    downsampleRatio: 0.5,
    // RVM gives the ball under his kicking leg an alpha of ≈ 0.1–0.2.
    erase: [{ x: 332, y: 284, w: 58, h: 58 }],
  },
  'render-woman': {
    photo: { pkg: 'samples', file: 'samples.jpg' },
    description: 'rendered woman in a white dress, full body, arms out (sheet thumbnail 1)',
    crop: { x: 0, y: 0, w: 158, h: 158 },
    upscale: 2,
    downsampleRatio: 1,
  },
  'portrait-woman': {
    photo: { pkg: 'samples', file: 'samples.jpg' },
    description: 'woman, head and shoulders, cut by the photo at the bottom and left (sheet thumbnail 2, PORTRAIT_CROP)',
    // Stops above the red object at the thumbnail's bottom edge; 0.5 matted part of the wall above her head.
    crop: { x: 166, y: 0, w: 151, h: 150 },
    upscale: 2,
    downsampleRatio: 1,
  },
  'suit-man': {
    photo: { pkg: 'samples', file: 'samples.jpg' },
    description: 'man in a suit, head, shoulders and chest, cut straight at the bottom (sheet thumbnail 3)',
    // Ends above the dinner table: RVM keeps half of the food and the chopsticks otherwise.
    crop: { x: 325, y: 0, w: 212, h: 100 },
    upscale: 2,
    downsampleRatio: 1,
  },
  'stool-woman': {
    photo: { pkg: 'samples', file: 'samples.jpg' },
    description: 'woman in a lilac dress sitting (the stool is matted out), full body (sheet thumbnail 6)',
    crop: { x: 797, y: 0, w: 106, h: 158 },
    upscale: 2,
    downsampleRatio: 0.75,
  },
  walker: {
    photo: { pkg: 'opencv', file: 'vtest.avi' },
    description: 'man walking away, dark jacket and jeans, full body (vtest.avi at 5 s, ≈ 130 px tall in the source)',
    crop: { x: 645, y: 240, w: 96, h: 144 },
    atSeconds: 5,
    upscale: 3,
    downsampleRatio: 0.5,
  },
  astronaut: {
    photo: { pkg: 'skimage', file: 'astronaut.png' },
    description: 'astronaut in an orange suit, head, shoulders and chest, cut straight at the bottom (astronaut.png; held out)',
    // Ends above the helmet on the table in front of her (RVM matted it half in).
    crop: { x: 0, y: 0, w: 400, h: 340 },
    upscale: 1,
    downsampleRatio: 0.5,
  },
} as const satisfies Record<string, PersonSource>;

export type PersonId = keyof typeof PEOPLE;

/** Photos of scenes without people, usable as backgrounds (and occluder textures). */
export const BACKGROUNDS = {
  home: { pkg: 'opencv', file: 'home.jpg' },
  building: { pkg: 'opencv', file: 'building.jpg' },
  leuven: { pkg: 'opencv', file: 'leuvenA.jpg' },
  aloe: { pkg: 'opencv', file: 'aloeL.jpg' },
  toys: { pkg: 'opencv', file: 'rubberwhale1.png' },
  books: { pkg: 'opencv', file: 'left.jpg' },
  desk: { pkg: 'opencv', file: 'stuff.jpg' },
  fruits: { pkg: 'opencv', file: 'fruits.jpg' },
  board: { pkg: 'opencv', file: 'board.jpg' },
  garage: { pkg: 'skimage', file: 'motorcycle_left.png' },
  rocket: { pkg: 'skimage', file: 'rocket.jpg' },
} as const satisfies Record<string, PhotoRef>;

export type BackgroundId = keyof typeof BACKGROUNDS;

export function isHeldOut(ref: PhotoRef): boolean {
  return HELD_OUT_PACKAGES.includes(ref.pkg);
}
