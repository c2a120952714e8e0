/**
 * Trains the learned fusion head of `attention-learned` with the backbone frozen.
 *
 * Clips are played in order through the very temporal stage inference uses (AttentionTemporal
 * with the head being trained): each frame's memory read comes from the session's own earlier
 * masks, which the current head produced — so training sees the memory it will see live. The
 * gradient stops at the memory (its masks are committed as bytes), i.e. truncated BPTT of one
 * step, which keeps a step cheap on this CPU.
 *
 * Loss per frame (mask resolution, ground truth = area-downsampled exact alpha):
 *   BCE(fused logit, gt)  +  λ · mean over pixels whose ground truth did not change since the
 *   previous frame of (σ(fused) − previous mask)²
 * The second term targets flicker (temporal error) directly and only where the truth is still,
 * so it never asks the mask to lag a moving person.
 */
import * as tf from '@tensorflow/tfjs';
import { AttentionTemporal, disposeFusionInputs, type AttentionGeometryIn } from '../temporal/stages/attention.js';
import { FusionHead } from '../temporal/stages/fusionHead.js';
import type { AttentionParams } from '../temporal/attention/types.js';
import type { TrainClip } from './data.js';

export interface TrainSettings {
  readonly epochs: number;
  /** Adam learning rate at the start; halved at each third of training. */
  readonly learningRate: number;
  readonly hidden: number;
  /** First-layer kernel on the gate grid: 1 or 3. */
  readonly kernel: number;
  /** Backbone feature channels the head reads (0 = cues only). */
  readonly featureChannels: number;
  /** Largest logit correction of the head's own (0 = gate only). */
  readonly correction: number;
  /** Gate grid = mask / gatePool; cues pooled over every poolStep-th pixel. */
  readonly gatePool: number;
  readonly poolStep: number;
  /** γ₀ of the non-parametric rule the head starts from (and corrects). */
  readonly memoryWeight: number;
  /** Weight of the flicker term. */
  readonly temporalWeight: number;
  /** Segmentation term: binary cross-entropy, or soft Jaccard (1 − soft IoU, what J measures). */
  readonly loss: 'bce' | 'jaccard';
  readonly ringSize: number;
  readonly params: AttentionParams;
  readonly seed: number;
}

export interface EpochReport {
  readonly epoch: number;
  readonly bce: number;
  readonly flicker: number;
  readonly steps: number;
  readonly seconds: number;
}

/** Deterministic order of clips per epoch (seeded shuffle). */
function order(n: number, seed: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export async function trainFusionHead(
  clips: readonly TrainClip[],
  geometry: AttentionGeometryIn & { readonly inputWidth: number; readonly inputHeight: number },
  backend: string,
  s: TrainSettings,
  log: (m: string) => void,
): Promise<{ head: FusionHead; epochs: EpochReport[] }> {
  let seed = s.seed >>> 0;
  const rand = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  const head = FusionHead.initial({ hidden: s.hidden, kernel: s.kernel, memoryWeight: s.memoryWeight, featureChannels: s.featureChannels, correction: s.correction, gatePool: s.gatePool, poolStep: s.poolStep }, rand);
  // The stage owns nothing it must free except its head, which we keep: dispose only the stage's tables.
  const stage = new AttentionTemporal(geometry, { params: s.params, ringSize: s.ringSize, memoryWeight: s.memoryWeight, implementation: 'auto', head }, backend);
  const [h, w, c] = geometry.featureShape;
  const H = geometry.maskHeight;
  const W = geometry.maskWidth;
  const reports: EpochReport[] = [];
  const totalSteps = s.epochs * clips.reduce((n, cl) => n + cl.frames.length - 1, 0);
  let step = 0;
  let optimizer = tf.train.adam(s.learningRate);
  let lrStage = 0;
  for (let epoch = 1; epoch <= s.epochs; epoch++) {
    const t0 = performance.now();
    let bceSum = 0;
    let flickSum = 0;
    let n = 0;
    for (const ci of order(clips.length, s.seed + epoch)) {
      const clip = clips[ci]!;
      const state = stage.openSession();
      let prevMask: Uint8Array | undefined;
      let prevGt: Uint8Array | undefined;
      for (const f of clip.frames) {
        const logits = tf.tensor3d(f.logits, [H, W, 1]);
        const features = tf.tensor3d(f.features, [h, w, c]);
        const x = stage.prepareFusion(state, { logits, features, rgb: f.rgb, luma: f.luma });
        let mask: Uint8Array;
        if (!x) {
          mask = toBytes(tf.tidy(() => tf.sigmoid(logits).squeeze([2])));
        } else {
          const gt = tf.tensor2d(Float32Array.from(f.gt, (v) => v / 255), [H, W]);
          const stable = prevGt ? tf.tensor2d(Float32Array.from(f.gt, (v, i) => (Math.abs(v - prevGt![i]!) < 13 ? 1 : 0)), [H, W]) : undefined;
          const prev = prevMask ? tf.tensor2d(Float32Array.from(prevMask, (v) => v / 255), [H, W]) : undefined;
          const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
            const z = head.fuseLogits(x);
            const bce = segLoss(s.loss, gt, z);
            if (!stable || !prev) return bce as tf.Scalar;
            const flick = tf.div(tf.sum(tf.mul(stable, tf.square(tf.sub(tf.sigmoid(z), prev)))), tf.add(tf.sum(stable), 1));
            return tf.add(bce, tf.mul(flick, s.temporalWeight)) as tf.Scalar;
          }), head.variables);
          const parts = tf.tidy(() => {
            const z = head.fuseLogits(x);
            const b = segLoss(s.loss, gt, z).dataSync()[0]!;
            const fl = stable && prev ? tf.div(tf.sum(tf.mul(stable, tf.square(tf.sub(tf.sigmoid(z), prev)))), tf.add(tf.sum(stable), 1)).dataSync()[0]! : 0;
            return [b, fl];
          });
          bceSum += parts[0]!;
          flickSum += parts[1]!;
          n++;
          optimizer.applyGradients(grads as tf.NamedTensorMap as unknown as { [name: string]: tf.Variable });
          tf.dispose([value, ...Object.values(grads)]);
          // What the session would send now (after this step's update), committed as memory.
          mask = toBytes(head.fuse(x));
          tf.dispose([gt, ...(stable ? [stable] : []), ...(prev ? [prev] : [])]);
          disposeFusionInputs(x);
          step++;
          const stageNow = Math.min(2, Math.floor((3 * step) / Math.max(1, totalSteps)));
          if (stageNow !== lrStage) {
            lrStage = stageNow;
            optimizer.dispose();
            optimizer = tf.train.adam(s.learningRate / 2 ** lrStage);
          }
        }
        stage.commit(state, mask);
        tf.dispose([logits, features]);
        prevMask = mask;
        prevGt = f.gt;
      }
      state.dispose();
    }
    const r: EpochReport = { epoch, bce: bceSum / Math.max(1, n), flicker: flickSum / Math.max(1, n), steps: n, seconds: (performance.now() - t0) / 1000 };
    reports.push(r);
    log(`epoch ${epoch}/${s.epochs}: BCE ${r.bce.toFixed(4)}, flicker ${r.flicker.toFixed(5)}, ${r.steps} steps in ${r.seconds.toFixed(0)} s`);
  }
  optimizer.dispose();
  return { head, epochs: reports };
}

/** Probability tensor [H, W] → mask bytes (disposes the tensor). */
function toBytes(p: tf.Tensor): Uint8Array {
  try {
    const v = p.dataSync();
    const out = new Uint8ClampedArray(v.length);
    for (let i = 0; i < v.length; i++) out[i] = v[i]! * 255;
    return new Uint8Array(out.buffer);
  } finally {
    p.dispose();
  }
}

/** The segmentation term of the loss for fused logits z against soft ground truth gt. */
function segLoss(kind: 'bce' | 'jaccard', gt: tf.Tensor, z: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    if (kind === 'bce') return tf.losses.sigmoidCrossEntropy(gt, z) as tf.Scalar;
    const p = tf.sigmoid(z);
    const inter = tf.sum(tf.mul(p, gt));
    const union = tf.sub(tf.add(tf.sum(p), tf.sum(gt)), inter);
    return tf.sub(1, tf.div(tf.add(inter, 1), tf.add(union, 1))) as tf.Scalar;
  });
}
