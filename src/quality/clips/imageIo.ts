/**
 * Image files in and out for the quality clips: photos and video frames decoded by the system
 * ffmpeg (JPEGs here are 4:2:2 / 4:2:0 full range; ffmpeg converts them correctly, whereas
 * @napi-rs/webcodecs' ImageDecoder gets 4:2:2 chroma wrong), PNG encode/decode with pngjs,
 * and file hashes for cache keys. Synchronous: these run once per source and are cached.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';

/** A rectangle in source pixels. */
export interface Crop {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** ffmpeg/ffprobe is missing or could not read a picture. */
export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
}

/** A PNG that is not what the caller expects (size, channels) or is corrupt. */
export class PngFormatError extends Error {
  override readonly name = 'PngFormatError';
}

const FFMPEG_HINT = 'install it: apt-get install ffmpeg';

function run(cmd: string, args: string[], what: string): Buffer {
  const r = spawnSync(cmd, args, { maxBuffer: 256 << 20 });
  if (r.error) throw new ImageDecodeError(`cannot run ${cmd} to ${what} (${r.error.message}); ${FFMPEG_HINT}`);
  if (r.status !== 0) throw new ImageDecodeError(`${cmd} failed to ${what}: ${r.stderr.toString().trim()}`);
  return r.stdout;
}

/** Width and height of a picture or video file, px. */
export function probeSize(file: string): { width: number; height: number } {
  const out = run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file], `read the size of ${file}`);
  const [w, h] = out.toString().trim().split(',').map(Number);
  if (!(w! > 0 && h! > 0)) throw new ImageDecodeError(`ffprobe reports no picture size for ${file}: "${out.toString().trim()}"`);
  return { width: w!, height: h! };
}

export interface DecodeOptions {
  /** Region of the source to keep, source px (default: all of it). */
  readonly crop?: Crop;
  /** Output size, px; the crop is stretched to exactly this. */
  readonly width: number;
  readonly height: number;
  /** For videos: time of the frame to take, s (default the first frame). */
  readonly atSeconds?: number;
  /** Mirror left–right (after crop and scale). */
  readonly hflip?: boolean;
}

/**
 * RGB (3 bytes/px, row-major) of a picture file or one video frame, cropped and scaled.
 * Lanczos when enlarging (keeps edges sharp for matting), area averaging when shrinking
 * (no aliasing).
 */
export function decodeRgb(file: string, o: DecodeOptions): Uint8Array {
  const filters: string[] = [];
  const srcW = o.crop?.w ?? probeSize(file).width;
  if (o.crop) filters.push(`crop=${o.crop.w}:${o.crop.h}:${o.crop.x}:${o.crop.y}`);
  filters.push(`scale=${o.width}:${o.height}:flags=${o.width > srcW ? 'lanczos' : 'area'}`);
  if (o.hflip) filters.push('hflip');
  const seek = o.atSeconds !== undefined ? ['-ss', String(o.atSeconds)] : [];
  const args = ['-v', 'error', ...seek, '-i', file, '-frames:v', '1', '-vf', filters.join(','), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'];
  const out = run('ffmpeg', args, `decode ${file}`);
  if (out.length !== o.width * o.height * 3) throw new ImageDecodeError(`ffmpeg produced ${out.length} bytes for ${file}, expected ${o.width * o.height * 3}`);
  // An owned, exactly sized buffer (stdout may be a view into a larger pooled one).
  return new Uint8Array(out);
}

/**
 * RGB of a photo scaled to cover width × height (aspect kept) and centre-cropped to exactly
 * that size: how a background photo fills a frame.
 */
export function decodeCover(file: string, width: number, height: number, o: { hflip?: boolean } = {}): Uint8Array {
  const src = probeSize(file);
  const s = Math.max(width / src.width, height / src.height);
  const w = Math.min(src.width, Math.round(width / s));
  const h = Math.min(src.height, Math.round(height / s));
  const crop = { x: Math.floor((src.width - w) / 2), y: Math.floor((src.height - h) / 2), w, h };
  return decodeRgb(file, { crop, width, height, hflip: o.hflip });
}

/** sha256 (hex) of a file's bytes. */
export function fileSha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** sha256 (hex) of a string or bytes (cache keys). */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** PNG bytes of an 8-bit image: 1 channel → grayscale (colorType 0), 3 → RGB, 4 → RGBA. */
export function encodePng(data: Uint8Array, width: number, height: number, channels: 1 | 3 | 4): Buffer {
  if (data.length !== width * height * channels) throw new PngFormatError(`image has ${data.length} bytes, expected ${width}×${height}×${channels}`);
  const colorType = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  const png = new PNG({ width, height, colorType, inputColorType: colorType, inputHasAlpha: channels === 4, bitDepth: 8 });
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: channels === 4 });
}

/** Decodes a PNG to RGBA (pngjs always expands to 4 channels). */
export function decodePngRgba(bytes: Buffer): { width: number; height: number; rgba: Uint8Array } {
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (e) {
    throw new PngFormatError(`not a readable PNG: ${(e as Error).message}`);
  }
  return { width: png.width, height: png.height, rgba: new Uint8Array(png.data) };
}

/** Decodes an 8-bit grayscale PNG to one byte per pixel. */
export function decodePngGray(bytes: Buffer): { width: number; height: number; gray: Uint8Array } {
  const { width, height, rgba } = decodePngRgba(bytes);
  const gray = new Uint8Array(width * height);
  for (let i = 0; i < gray.length; i++) gray[i] = rgba[i * 4]!;
  return { width, height, gray };
}
