/**
 * The local attention read (definition in ./types.ts) as TF.js tensor ops, so it runs on every
 * backend (tensorflow GPU/CPU, webgl, wasm, cpu). Candidates are enumerated through a
 * precomputed table of memory cells per query cell, in the same order as the fused kernel
 * (frame, offset row, offset column), so `tf.topk`'s tie rule (lower index first) matches the
 * definition. Out-of-grid candidates get an affinity of −1e9 and hence zero weight.
 */
import * as tf from '@tensorflow/tfjs';
import { EMPTY_VALUE, validateAttention, type AttentionGeometry, type AttentionParams } from './types.js';

const INVALID = -1e9;

export interface TensorAttentionOutputs {
  /** [H, W] */
  readonly read: tf.Tensor2D;
  /** [h, w] */
  readonly confidence: tf.Tensor2D;
  /** [h, w] */
  readonly motion: tf.Tensor2D;
}

/** Constant tables for one (geometry, radius, frame count): owned by TensorAttention. */
interface Tables {
  /** [P, n·K] memory cell n·P + cell of each candidate (clamped when out of grid). */
  readonly cells: tf.Tensor2D;
  /** [P, n·K] 0 for a real candidate, −1e9 for one outside the grid. */
  readonly bias: tf.Tensor2D;
  /** [P, n·K] offset length |δ|, cells. */
  readonly dist: tf.Tensor2D;
  /** [P, n·K] memory frame of each candidate (int32), and its offset δy, δx in cells. */
  readonly frame: tf.Tensor2D;
  readonly dy: tf.Tensor2D;
  readonly dx: tf.Tensor2D;
  /** [P, 1] p · n·K: start of row p in the flattened tables. */
  readonly rowStart: tf.Tensor2D;
  /** [1, H, W] pixel row / column; [n, 1, 1] n·H·W (start of frame n in the flat values). */
  readonly pixelY: tf.Tensor3D;
  readonly pixelX: tf.Tensor3D;
  readonly frameBase: tf.Tensor3D;
}

export class TensorAttention {
  private readonly tables = new Map<number, Tables>();
  private disposed = false;

  constructor(readonly params: AttentionParams, readonly geometry: AttentionGeometry) {
    validateAttention(params, geometry);
  }

  /**
   * @param query [h, w, c] unit rows; @param keys [n, h, w, c] unit rows; @param values [n, H, W].
   * Returns new tensors the caller owns.
   */
  run(query: tf.Tensor, keys: tf.Tensor, values: tf.Tensor): TensorAttentionOutputs {
    if (this.disposed) throw new Error('TensorAttention used after dispose()');
    const { h, w, c, stride: s } = this.geometry;
    const n = keys.shape[0]!;
    const P = h * w;
    const t = this.tablesFor(n);
    const k = Math.min(this.params.topK, t.cells.shape[1]);
    const H = h * s;
    const W = w * s;
    return tf.tidy(() => {
      const q = query.reshape([P, 1, c]);
      const kf = keys.reshape([n * P, c]);
      const cand = tf.gather(kf, t.cells.reshape([-1])).reshape([P, -1, c]);
      const aff = tf.add(tf.sum(tf.mul(cand, q), 2), t.bias) as tf.Tensor2D;
      const top = tf.topk(aff, k);
      const wts = tf.softmax(tf.div(top.values, this.params.temperature)) as tf.Tensor2D; // [P, k]
      // Row-wise gathers as flat gathers: tfjs-backend-wasm 4.22's gather with batchDims
      // returns wrong values (seen: row 2 of [[3,0],[1,1],[2,3]] gives [8, 32], not [10, 11]).
      const flatTop = tf.add(top.indices, t.rowStart).reshape([-1]);
      const pick = (table: tf.Tensor2D) => tf.gather(table.reshape([-1]), flatTop).reshape([P, k]);
      const frameOf = pick(t.frame); // [P, k] int32
      // One-hot of the frame index via equality (tf.oneHot refuses depth 1).
      const isFrame = tf.cast(tf.equal(frameOf.reshape([P, k, 1]), tf.range(0, n, 1, 'int32').reshape([1, 1, n])), 'float32');
      const oneHot = tf.mul(isFrame, wts.reshape([P, k, 1])); // [P, k, n]
      const mass = tf.sum(oneHot, 1); // [P, n]
      const sumY = tf.sum(tf.mul(oneHot, pick(t.dy).reshape([P, k, 1])), 1);
      const sumX = tf.sum(tf.mul(oneHot, pick(t.dx).reshape([P, k, 1])), 1);
      const safe = tf.maximum(mass, 1e-12);
      const offY = tf.floor(tf.add(tf.div(tf.mul(sumY, s), safe), 0.5));
      const offX = tf.floor(tf.add(tf.div(tf.mul(sumX, s), safe), 0.5));
      // Cell fields → pixel fields [n, H, W] (each cell's value over its whole block).
      const toPixels = (f: tf.Tensor) => tf.image.resizeNearestNeighbor(f.reshape([h, w, n]) as tf.Tensor3D, [H, W]).transpose([2, 0, 1]);
      const sy = tf.clipByValue(tf.add(toPixels(offY), t.pixelY), 0, H - 1);
      const sx = tf.clipByValue(tf.add(toPixels(offX), t.pixelX), 0, W - 1);
      const idx = tf.add(tf.add(tf.mul(sy, W), sx), t.frameBase).toInt().reshape([-1]);
      const sampled = tf.gather(values.reshape([-1]), idx).reshape([n, H, W]);
      // Empty windows (no memory foreground anywhere in them) are not matched: all outputs 0.
      const fgCells = tf.max(tf.maxPool(values.reshape([n, H, W, 1]) as tf.Tensor4D, [s, s], [s, s], 'valid'), 0); // [h, w, 1]
      const anyFg = tf.cast(tf.greater(fgCells, EMPTY_VALUE), 'float32');
      const active = tf.maxPool(anyFg.reshape([1, h, w, 1]) as tf.Tensor4D, [2 * this.params.radius + 1, 2 * this.params.radius + 1], [1, 1], 'same').reshape([h, w]);
      const activePx = tf.image.resizeNearestNeighbor(active.reshape([h, w, 1]) as tf.Tensor3D, [H, W]).reshape([H, W]);
      const read = tf.mul(tf.sum(tf.mul(sampled, toPixels(mass)), 0), activePx) as tf.Tensor2D;
      const confidence = tf.mul(top.values.slice([0, 0], [P, 1]).reshape([h, w]), active) as tf.Tensor2D;
      const motion = tf.mul(tf.sum(tf.mul(pick(t.dist), wts), 1).reshape([h, w]), active) as tf.Tensor2D;
      return { read, confidence, motion };
    });
  }

  /** Frees the cached tables. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.tables.values()) tf.dispose(Object.values(t) as tf.Tensor[]);
    this.tables.clear();
  }

  private tablesFor(frames: number): Tables {
    let t = this.tables.get(frames);
    if (t) return t;
    const { h, w, stride: s } = this.geometry;
    const R = this.params.radius;
    const K = (2 * R + 1) ** 2;
    const P = h * w;
    const M = P * frames * K;
    const cells = new Int32Array(M);
    const frame = new Int32Array(M);
    const bias = new Float32Array(M);
    const dist = new Float32Array(M);
    const dyT = new Float32Array(M);
    const dxT = new Float32Array(M);
    let o = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let n = 0; n < frames; n++) {
          for (let dy = -R; dy <= R; dy++) {
            for (let dx = -R; dx <= R; dx++) {
              const yy = y + dy;
              const xx = x + dx;
              const inside = yy >= 0 && yy < h && xx >= 0 && xx < w;
              cells[o] = n * P + Math.min(h - 1, Math.max(0, yy)) * w + Math.min(w - 1, Math.max(0, xx));
              frame[o] = n;
              bias[o] = inside ? 0 : INVALID;
              dist[o] = Math.sqrt(dy * dy + dx * dx);
              dyT[o] = dy;
              dxT[o] = dx;
              o++;
            }
          }
        }
      }
    }
    const H = h * s;
    const W = w * s;
    // tf.keep: the tables are built lazily, possibly inside a caller's tidy, and must outlive it.
    const keep = <T extends tf.Tensor>(x: T) => tf.keep(x);
    t = {
      cells: keep(tf.tensor2d(cells, [P, frames * K], 'int32')),
      frame: keep(tf.tensor2d(frame, [P, frames * K], 'int32')),
      bias: keep(tf.tensor2d(bias, [P, frames * K])),
      dist: keep(tf.tensor2d(dist, [P, frames * K])),
      dy: keep(tf.tensor2d(dyT, [P, frames * K])),
      dx: keep(tf.tensor2d(dxT, [P, frames * K])),
      rowStart: keep(tf.tensor2d(Int32Array.from({ length: P }, (_, p) => p * frames * K), [P, 1], 'int32')),
      pixelY: keep(tf.tensor3d(Float32Array.from({ length: H * W }, (_, i) => Math.floor(i / W)), [1, H, W])),
      pixelX: keep(tf.tensor3d(Float32Array.from({ length: H * W }, (_, i) => i % W), [1, H, W])),
      frameBase: keep(tf.tensor3d(Float32Array.from({ length: frames }, (_, i) => i * H * W), [frames, 1, 1])),
    };
    this.tables.set(frames, t);
    return t;
  }
}
