/**
 * The inference-only ceiling: the same engine (model, backend, temporal stage) the server uses,
 * run directly in a tight loop on one thread over frames already converted to the model's input
 * (no WebRTC, no decode, no worker hand-off). Each frame carries its luma at mask size, as the
 * server's prepare() makes it, so the attention-fine stage really matches pixels here. Also times the preprocess stage alone and a
 * cross-session batch of 2 against 2 single frames (does batching pay on this backend?).
 *
 * `node dist/src/bench/ceiling.js '<json options>'` prints one JSON line (the load benchmark
 * runs it in a child process so its memory never counts against the server's RSS).
 */
import { pathToFileURL } from 'node:url';
import { SegmentationEngine, type PreparedFrame } from '../inference/engine.js';
import { wholePicture } from '../roi/roiTracker.js';
import { i420Luma, i420ToRgb } from '../decode/yuvToRgb.js';
import { generateClip } from '../testing/synthClip.js';
import type { BackendName, ModelName } from '../inference/types.js';
import type { TemporalMode } from '../temporal/temporalConfig.js';
import { summarize } from './stats.js';

/** A frame of model-input RGB as one whole-picture view (what process() makes of it). */
function whole(rgb: Uint8Array, luma: Uint8Array): PreparedFrame {
  return { views: [{ rgb, view: { kind: 'whole', box: wholePicture(1, 1) } }], luma, ms: 0 };
}

export interface CeilingOptions {
  readonly model: ModelName;
  readonly backend: 'auto' | BackendName;
  readonly temporal: TemporalMode;
  readonly ringSize: number;
  /** Source frame size (the benchmark's resolution), px. */
  readonly width: number;
  readonly height: number;
  /** Frames timed (after warm-up). */
  readonly frames: number;
}

type Stats = ReturnType<typeof summarize>;

export interface CeilingResult {
  readonly backend: BackendName;
  readonly model: ModelName;
  readonly temporal: TemporalMode;
  /** Backbone + temporal + mask bytes per frame (engine.process), ms. */
  readonly engineMs: Stats;
  /** Frames per second one thread sustains: 1000 / mean engine ms. */
  readonly engineFps: number;
  /** Preprocess (I420 at the source size → RGB at the model size, and luma at the mask size) alone, ms. */
  readonly preprocessMs: Stats;
  /** Backbone only (the temporal stage is in engineMs − this), ms. */
  readonly backboneMs: Stats;
  /** Two sessions' frames: as one batch vs one after the other, ms per frame (means). */
  readonly batchOf2PerFrameMs: number;
  readonly twoSinglesPerFrameMs: number;
}

export async function measureCeiling(o: CeilingOptions): Promise<CeilingResult> {
  const clip = await generateClip({ frames: 60, width: o.width, height: o.height, fps: 30, speedPxPerFrame: 4, seed: 1 });
  const temporal = { mode: o.temporal, ringSize: o.ringSize };
  const engine = await SegmentationEngine.create({ model: o.model, backend: o.backend, temporal, maxBatch: 2 });
  try {
    const { inputWidth: iw, inputHeight: ih, maskWidth: mw, maskHeight: mh } = engine.info;
    const pre: number[] = [];
    const rgbs = clip.frames.map((pic) => {
      const t0 = performance.now();
      const rgb = i420ToRgb(pic, iw, ih).data;
      pre.push(performance.now() - t0);
      return rgb;
    });
    const lumas = clip.frames.map((pic) => i420Luma(pic, mw, mh));
    for (let r = 0; r < 3; r++) {
      for (const pic of clip.frames) {
        const t0 = performance.now();
        i420ToRgb(pic, iw, ih);
        i420Luma(pic, mw, mh);
        pre.push(performance.now() - t0);
      }
    }
    engine.openSession('ceiling');
    engine.openSession('other');
    const warm = 30;
    const times: number[] = [];
    const backbone: number[] = [];
    for (let i = 0; i < warm + o.frames; i++) {
      const t0 = performance.now();
      const r = engine.process('ceiling', rgbs[i % rgbs.length]!, lumas[i % lumas.length]!);
      const dt = performance.now() - t0;
      if (i >= warm) {
        times.push(dt);
        backbone.push(r.inferenceMs);
      }
    }
    // Batch of 2 (two sessions) against the same two frames one after the other.
    const pairs = Math.max(20, Math.round(o.frames / 4));
    let batched = 0;
    let singles = 0;
    for (let i = 0; i < pairs + 5; i++) {
      const a = rgbs[i % rgbs.length]!;
      const b = rgbs[(i + 7) % rgbs.length]!;
      const la = lumas[i % lumas.length]!;
      const lb = lumas[(i + 7) % lumas.length]!;
      const t0 = performance.now();
      engine.processBatch([{ id: 'ceiling', frame: whole(a, la) }, { id: 'other', frame: whole(b, lb) }], false);
      const t1 = performance.now();
      engine.process('ceiling', a, la);
      engine.process('other', b, lb);
      const t2 = performance.now();
      if (i >= 5) {
        batched += t1 - t0;
        singles += t2 - t1;
      }
    }
    const engineMs = summarize(times);
    return {
      backend: engine.info.backend,
      model: engine.info.model,
      temporal: o.temporal,
      engineMs,
      engineFps: 1000 / engineMs.mean,
      preprocessMs: summarize(pre.slice(rgbs.length)),
      backboneMs: summarize(backbone),
      batchOf2PerFrameMs: batched / pairs / 2,
      twoSinglesPerFrameMs: singles / pairs / 2,
    };
  } finally {
    engine.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  measureCeiling(JSON.parse(process.argv[2] ?? '{}') as CeilingOptions).then(
    (r) => console.log(JSON.stringify(r)),
    (e: Error) => {
      console.error(e);
      process.exit(1);
    },
  );
}
