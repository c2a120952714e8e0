/**
 * Validation of a trained head on held-out generated clips, at mask resolution: per-frame,
 * the non-parametric attention and the learned attention played through the same stages the
 * engine uses. For the model card; the decisive comparison is `npm run bench:quality`.
 */
import * as tf from '@tensorflow/tfjs';
import type { AttentionGeometryIn } from '../temporal/stages/attention.js';
import { AttentionTemporal } from '../temporal/stages/attention.js';
import { PassThroughTemporal } from '../temporal/stages/simple.js';
import type { FusionHead } from '../temporal/stages/fusionHead.js';
import type { TemporalStage } from '../temporal/temporalStage.js';
import { SequenceEvaluator } from '../quality/metrics.js';
import type { TrainClip } from './data.js';
import type { TrainSettings } from './trainFusion.js';

export interface ValidationRow {
  readonly mode: string;
  readonly J: number;
  readonly TE: number;
  readonly dtSSD: number;
}

export function playClip(stage: TemporalStage, clip: TrainClip, geometry: AttentionGeometryIn): Uint8Array[] {
  const [h, w, c] = geometry.featureShape;
  const H = geometry.maskHeight;
  const W = geometry.maskWidth;
  const state = stage.openSession();
  const masks: Uint8Array[] = [];
  try {
    for (const f of clip.frames) {
      const logits = tf.tensor3d(f.logits, [H, W, 1]);
      const features = tf.tensor3d(f.features, [h, w, c]);
      const p = stage.process(state, { logits, features, rgb: f.rgb, luma: f.luma });
      const v = p.dataSync();
      const m = new Uint8ClampedArray(v.length);
      for (let i = 0; i < v.length; i++) m[i] = v[i]! * 255;
      const bytes = new Uint8Array(m.buffer);
      stage.commit(state, bytes);
      masks.push(bytes);
      tf.dispose([p, logits, features]);
    }
  } finally {
    state.dispose();
  }
  return masks;
}

export function validate(clips: readonly TrainClip[], geometry: AttentionGeometryIn, backend: string, s: TrainSettings, head: FusionHead): ValidationRow[] {
  const common = { params: s.params, ringSize: s.ringSize, memoryWeight: s.memoryWeight, implementation: 'auto' as const };
  const stages: [string, TemporalStage][] = [
    ['none', new PassThroughTemporal()],
    ['attention', new AttentionTemporal(geometry, common, backend)],
    ['attention-learned', new AttentionTemporal(geometry, { ...common, head }, backend)],
  ];
  const rows: ValidationRow[] = [];
  for (const [mode, stage] of stages) {
    let J = 0;
    let TE = 0;
    let dt = 0;
    for (const clip of clips) {
      const ev = new SequenceEvaluator(geometry.maskWidth, geometry.maskHeight);
      const masks = playClip(stage, clip, geometry);
      masks.forEach((m, i) => ev.add(m, clip.frames[i]!.gt));
      const r = ev.result();
      J += r.J;
      TE += r.TE;
      dt += r.dtSSD;
    }
    rows.push({ mode, J: J / clips.length, TE: TE / clips.length, dtSSD: dt / clips.length });
  }
  // The learned stage's head belongs to the caller: dispose only the others' resources.
  stages[1]![1].dispose();
  return rows;
}
