/**
 * Canvas2D compositing of a camera frame with its mask.
 *
 * The mask arrives at model resolution (e.g. 256×144) over the whole picture, plus, when the
 * server segmented crops, each crop's mask at the model's resolution over its box (detail
 * layers). composeMask (the same function `maskstream segment` and `bench:quality` use) draws
 * them at the picture's size, once per mask, into a canvas as the alpha channel;
 * globalCompositeOperation 'destination-in' then cuts the person out of the frame, and the
 * cut-out is drawn over the chosen background.
 */

import type { Effect } from './params.js';
import type { PlayoutPick } from './playout.js';
import type { ReceivedMask } from './maskReceiver.js';
import { drawBackground } from './background.js';
import { composeMask } from '../src/shared/maskCompose.js';

/** Tint of the mask in the `mask` effect, "show mask" (RGB; alpha comes from the mask). */
const TINT: readonly [number, number, number] = [40, 220, 140];
/** The blurred background is computed at 1/BLUR_DOWNSCALE size: cheaper, and blurrier. */
const BLUR_DOWNSCALE = 4;
const BLUR_PX = 3;

function canvas2d(w: number, h: number): { canvas: HTMLCanvasElement; ctx: CanvasRenderingContext2D } {
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas context');
  return { canvas, ctx };
}

export class Compositor {
  effect: Effect;
  private readonly ctx: CanvasRenderingContext2D;
  private mask = canvas2d(1, 1);
  private maskPixels: ImageData | undefined;
  private maskShown: ReceivedMask | undefined;
  /** The last composed mask, picture size (reused). */
  private composed: Uint8Array | undefined;
  private person = canvas2d(1, 1);
  private blurred = canvas2d(1, 1);
  private background: HTMLCanvasElement | undefined;

  constructor(private readonly out: HTMLCanvasElement, effect: Effect) {
    this.effect = effect;
    const ctx = out.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('no 2D canvas context');
    this.ctx = ctx;
  }

  render(pick: PlayoutPick): void {
    const { frame, mask } = pick;
    const w = frame.width;
    const h = frame.height;
    this.fit(w, h);
    const ctx = this.ctx;
    ctx.globalCompositeOperation = 'source-over';
    ctx.globalAlpha = 1;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    if (!mask) {
      ctx.drawImage(frame.bitmap, 0, 0, w, h);
      return;
    }
    this.uploadMask(mask, w, h);
    if (this.effect === 'mask') {
      ctx.drawImage(frame.bitmap, 0, 0, w, h);
      ctx.globalAlpha = 0.45;
      ctx.drawImage(this.mask.canvas, 0, 0, w, h);
      ctx.globalAlpha = 1;
      return;
    }
    if (this.effect === 'blur') {
      const b = this.blurred;
      b.ctx.filter = 'none';
      b.ctx.drawImage(frame.bitmap, 0, 0, b.canvas.width, b.canvas.height);
      // Blurring fades the edges to transparent; the unblurred copy underneath fills them.
      b.ctx.filter = `blur(${BLUR_PX}px)`;
      b.ctx.drawImage(b.canvas, 0, 0);
      b.ctx.filter = 'none';
      ctx.drawImage(b.canvas, 0, 0, w, h);
    } else {
      this.background ??= drawBackground(w, h);
      ctx.drawImage(this.background, 0, 0, w, h);
    }
    const p = this.person.ctx;
    p.globalCompositeOperation = 'copy';
    p.drawImage(frame.bitmap, 0, 0, w, h);
    p.globalCompositeOperation = 'destination-in';
    p.imageSmoothingEnabled = true;
    p.imageSmoothingQuality = 'high';
    p.drawImage(this.mask.canvas, 0, 0, w, h);
    p.globalCompositeOperation = 'source-over';
    ctx.drawImage(this.person.canvas, 0, 0);
  }

  private fit(w: number, h: number): void {
    if (this.out.width !== w || this.out.height !== h) {
      this.out.width = w;
      this.out.height = h;
    }
    if (this.person.canvas.width !== w || this.person.canvas.height !== h) {
      this.person = canvas2d(w, h);
      this.blurred = canvas2d(Math.max(1, Math.round(w / BLUR_DOWNSCALE)), Math.max(1, Math.round(h / BLUR_DOWNSCALE)));
      this.background = undefined;
    }
  }

  /** The mask last drawn, as it arrived and as composed (picture size), for tests. */
  lastShown(): { raw: Uint8Array; composed: Uint8Array; width: number; height: number } | undefined {
    const m = this.maskShown;
    if (!m || !this.composed) return undefined;
    return { raw: m.raw, composed: this.composed, width: m.msg.pictureWidth ?? this.out.width, height: m.msg.pictureHeight ?? this.out.height };
  }

  /** The mask composed at the picture's size (whole-picture mask + detail layers) into the mask canvas, once per mask. */
  private uploadMask(m: ReceivedMask, frameWidth: number, frameHeight: number): void {
    if (this.maskShown === m) return;
    this.maskShown = m;
    // The picture the server segmented (boxes are in its pixels); a v1 message: the frame's size.
    const width = m.msg.pictureWidth ?? frameWidth;
    const height = m.msg.pictureHeight ?? frameHeight;
    const alpha = (this.composed = composeMask(m.msg, width, height, this.composed?.length === width * height ? this.composed : undefined));
    if (!this.maskPixels || this.maskPixels.width !== width || this.maskPixels.height !== height) {
      this.mask = canvas2d(width, height);
      this.maskPixels = new ImageData(width, height);
      const d = this.maskPixels.data;
      for (let i = 0; i < d.length; i += 4) {
        d[i] = TINT[0];
        d[i + 1] = TINT[1];
        d[i + 2] = TINT[2];
      }
    }
    const d = this.maskPixels.data;
    for (let i = 0, j = 3; i < alpha.length; i++, j += 4) d[j] = alpha[i]!;
    this.mask.ctx.putImageData(this.maskPixels, 0, 0);
  }
}
