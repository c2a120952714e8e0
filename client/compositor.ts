/**
 * Canvas2D compositing of a camera frame with its mask.
 *
 * The mask arrives at model resolution (e.g. 256×144). It is written once into a small
 * canvas as the alpha channel and scaled up by drawImage with image smoothing, which gives
 * soft, interpolated edges for free; globalCompositeOperation 'destination-in' then cuts the
 * person out of the frame, and the cut-out is drawn over the chosen background.
 */

import type { Effect } from './params.js';
import type { PlayoutPick } from './playout.js';
import type { ReceivedMask } from './maskReceiver.js';
import { drawBackground } from './background.js';

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
    this.uploadMask(mask);
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

  /** Writes the mask's alpha (model resolution) into the small mask canvas, once per mask. */
  private uploadMask(m: ReceivedMask): void {
    if (this.maskShown === m) return;
    this.maskShown = m;
    const { width, height, alpha } = m.msg;
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
