/**
 * The replacement background, drawn procedurally (no downloaded asset): an evening sky with
 * soft out-of-focus lights above a dim horizon. Deterministic, so screenshots are stable.
 */
import { rng } from '../src/shared/random.js';

export function drawBackground(width: number, height: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  const ctx = c.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas context');
  const sky = ctx.createLinearGradient(0, 0, 0, height);
  sky.addColorStop(0, '#0b1d3a');
  sky.addColorStop(0.55, '#3b4f8c');
  sky.addColorStop(0.8, '#d9866b');
  sky.addColorStop(1, '#f2c48d');
  ctx.fillStyle = sky;
  ctx.fillRect(0, 0, width, height);

  const rand = rng(0x6d61736b);
  const unit = Math.min(width, height);
  ctx.globalCompositeOperation = 'lighter';
  for (let i = 0; i < 38; i++) {
    const x = rand() * width;
    const y = rand() * height * 0.75;
    const r = unit * (0.02 + rand() * 0.07);
    const hue = 20 + rand() * 200;
    const g = ctx.createRadialGradient(x, y, 0, x, y, r);
    g.addColorStop(0, `hsla(${hue}, 80%, 75%, 0.35)`);
    g.addColorStop(0.7, `hsla(${hue}, 80%, 65%, 0.18)`);
    g.addColorStop(1, `hsla(${hue}, 80%, 60%, 0)`);
    ctx.fillStyle = g;
    ctx.beginPath();
    ctx.arc(x, y, r, 0, Math.PI * 2);
    ctx.fill();
  }
  ctx.globalCompositeOperation = 'source-over';

  // A dark, gently rolling horizon.
  ctx.fillStyle = '#14142a';
  ctx.beginPath();
  ctx.moveTo(0, height);
  for (let x = 0; x <= width; x += width / 32) {
    const y = height * (0.86 - 0.05 * Math.sin((x / width) * Math.PI * 3 + 0.7) - 0.03 * Math.sin((x / width) * Math.PI * 7));
    ctx.lineTo(x, y);
  }
  ctx.lineTo(width, height);
  ctx.closePath();
  ctx.fill();
  return c;
}
