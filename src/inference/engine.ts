/**
 * Backbone + temporal stage + mask quantisation for any number of independent sessions, in
 * this thread (the inference worker hosts one). Owns the Backbone (an ONNX Runtime session or
 * TF.js weights), the temporal stage and each session's temporal state (its ring buffer);
 * close() releases them all, so tf.memory().numTensors and the open ONNX Runtime sessions
 * return to what they were before create().
 */
import * as tf from '@tensorflow/tfjs';
import type { TemporalInput, TemporalStage, TemporalState } from '../temporal/temporalStage.js';
import { createTemporalStage, validateTemporalConfig } from '../temporal/factory.js';
import { openBackbone } from './backend.js';
import type { Backbone, BackboneOutput, BatchSupport } from './backbone.js';
import { openOrtSessions } from './onnx/ortSession.js';
import { letterbox, PersonDetector, type Detection, type Letterbox } from './personDetector.js';
import { ModelStore } from './modelStore.js';
import type { BackendAttempt, BackendName, EngineInfo, EngineOptions, InferenceMemory, SegmentResult } from './types.js';
import type { I420Picture } from '../decode/types.js';
import { i420Luma, i420ToRgb } from '../decode/yuvToRgb.js';
import { coversPicture, RoiTracker, thresholdLogit, validateRoiOptions, wholePicture, type RoiBox, type RoiOptions, type RoiView, type SecondCrop } from '../roi/roiTracker.js';
import { cropI420, detailLayer, mergePlanned, mergeScratch, overlaySecond, paddedCropRgb, temporalCorrection, type MergeScratch } from '../roi/crop.js';
import type { MaskDetail } from './types.js';

/**
 * Batch size used when EngineOptions.maxBatch is 0 (auto), by backend. Accelerators and
 * libtensorflow gain throughput from batching; on wasm the meet backbone measured
 * ≈ 12 ms/frame alone and ≈ 10.8 ms/frame in a batch of 2, and on ONNX Runtime's CPU provider
 * (one thread) a batch of n costs n single runs (docs/performance.md), which does not pay for
 * the extra wait of the first frame of each batch, so batching is off on CPUs.
 */
export const AUTO_MAX_BATCH: Readonly<Record<BackendName, number>> = Object.freeze({ 'ort-cuda': 8, 'ort-webgpu': 8, 'tensorflow-gpu': 8, 'ort-cpu': 1, tensorflow: 4, wasm: 1, cpu: 1 });

export class UnknownSessionError extends Error {
  override readonly name = 'UnknownSessionError';
}
export class DuplicateSessionError extends Error {
  override readonly name = 'DuplicateSessionError';
}
export class EngineClosedError extends Error {
  override readonly name = 'EngineClosedError';
}
/** A batch named the same session twice (its temporal state must see its frames one by one, in order). */
export class BatchSessionError extends Error {
  override readonly name = 'BatchSessionError';
}

/** What the backbone runs on for one frame of a session: a view (crop or whole picture) as model input. */
export interface PreparedView {
  /** inputWidth × inputHeight × 3 bytes. */
  readonly rgb: Uint8Array;
  readonly view: RoiView;
}

/** A doubt's crop (RoiTracker.secondCrops) at the second model's input size. */
export interface PreparedSecond {
  readonly crop: SecondCrop;
  /** The second model's inputWidth × inputHeight × 3 bytes. */
  readonly rgb: Uint8Array;
}

/** A picture turned into model input by prepare(): its views, and what the temporal stage reads of it. */
export interface PreparedFrame {
  /** At least one; crops around people and/or the whole picture (the session's region-of-interest plan). */
  readonly views: readonly PreparedView[];
  /** The second model's crops, one per doubt (people the detector sees and the mask leaves out); absent: none. */
  readonly seconds?: readonly PreparedSecond[];
  /** Luma of the whole picture at the mask's size, when the temporal stage reads it (attention-fine). */
  readonly luma?: Uint8Array;
  /** The picture, on the frames the person detector is due to look at (after the frame: detectPending). */
  readonly detect?: I420Picture;
  /** Time of the crops + I420 → RGB (+ luma), ms. */
  readonly ms: number;
}

/** One frame of a cross-session batch: the session it belongs to and its prepared views. */
export interface BatchItem {
  readonly id: string;
  readonly frame: PreparedFrame;
}

/** A session's state in the engine: its temporal memory and, when enabled, its region-of-interest tracker. */
interface EngineSession {
  readonly temporal: TemporalState;
  readonly roi: RoiTracker | null;
  /** People the detector found on an earlier picture of this session, for its next frame. */
  detections?: { readonly found: readonly Detection[]; readonly width: number; readonly height: number; readonly ms: number };
}

/** Tensor/memory counters of this thread's tf engine (subset of tf.MemoryInfo). */
export type EngineMemory = InferenceMemory;

export class SegmentationEngine {
  private readonly sessions = new Map<string, EngineSession>();
  /** Pictures waiting for the person detector, oldest first, at most one per session (its latest due one). */
  private readonly detectQueue = new Map<string, I420Picture>();
  private closed = false;

  private constructor(
    readonly info: EngineInfo,
    /** What backend selection tried (for the startup log). */
    readonly backendAttempts: readonly BackendAttempt[],
    private readonly backbone: Backbone,
    private readonly stage: TemporalStage,
    /** Region-of-interest settings, or null: every frame is segmented whole. */
    private readonly roiOptions: RoiOptions | null,
    /** Proposes people for the region of interest (its `detector` setting), or null. Owned. */
    private readonly detector: PersonDetector | null,
    /** The region of interest's second model (its `secondModel` setting), or null. Owned. */
    private readonly second: Backbone | null,
  ) {}

  static async create(opts: EngineOptions): Promise<SegmentationEngine> {
    validateTemporalConfig(opts.temporal); // cheap checks before the backend and model load
    if (opts.roi) validateRoiOptions(opts.roi);
    const store = ModelStore.open(opts.modelsDir);
    const { backbone, attempts } = await openBackbone(opts.backend, opts.model, {
      store,
      maxBatch: (backend) => (opts.maxBatch === 0 ? AUTO_MAX_BATCH[backend] : Math.max(1, opts.maxBatch ?? 1)),
      ortThreads: opts.ortThreads ?? 1,
    });
    const backend = backbone.runtime.backend;
    const b = backbone.info;
    let made: TemporalStage | undefined;
    let detector: PersonDetector | null = null;
    let second: Backbone | null = null;
    try {
      made = createTemporalStage(opts.temporal, b, backend);
      if (opts.wrapStage) made = opts.wrapStage(made);
      if (opts.roi && opts.roi.detector !== 'none') {
        // On ONNX Runtime: the backbone's provider when it runs there, else the CPU.
        const provider = backend === 'ort-cuda' ? 'cuda' : backend === 'ort-webgpu' ? 'webgpu' : 'cpu';
        detector = PersonDetector.load(opts.roi.detector, { provider, threads: provider === 'cpu' ? (opts.ortThreads ?? 1) : 0, store, minScore: opts.roi.detectScore });
      }
      if (opts.roi && opts.roi.secondModel !== 'none') {
        // On the backbone's own backend (its selection already ran).
        second = (await openBackbone(backend, opts.roi.secondModel, { store, maxBatch: () => backbone.batchSupport.maxBatch, ortThreads: opts.ortThreads ?? 1 })).backbone;
      }
    } catch (e) {
      // What was opened before the failure goes with it.
      detector?.dispose();
      made?.dispose();
      backbone.dispose();
      throw e;
    }
    const stage = made;
    const info: EngineInfo = {
      backend,
      provider: backbone.runtime.provider,
      ...(detector ? { detector: detector.name } : {}),
      ...(second ? { secondModel: second.info.model } : {}),
      model: b.model,
      inputWidth: b.inputWidth,
      inputHeight: b.inputHeight,
      maskWidth: b.maskWidth,
      maskHeight: b.maskHeight,
      featureNode: b.featureNode,
      featureShape: b.featureShape,
    };
    return new SegmentationEngine(info, attempts, backbone, stage, opts.roi ? { ...opts.roi } : null, detector, second);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  hasSession(id: string): boolean {
    return this.sessions.has(id);
  }

  /**
   * Runs the temporal stage over a few synthetic frames in a throwaway session (a noisy square
   * of person moving across the mask, random features), so its JavaScript (the read kernel, the
   * gate) is compiled before the first real session: measured on an idle engine, the first
   * frame with memory took 15–21 ms cold and 2.5–5 ms after this (≈ 2.5 ms once warm). It does
   * not help against CPU contention when a session starts on a busy machine.
   * Leaves no tensors behind; the session's memory goes to the stage's pool of spare states.
   */
  warmUp(frames = 8): void {
    this.assertOpen();
    const { maskWidth: W, maskHeight: H, featureShape, inputWidth, inputHeight } = this.info;
    const [h, w, c] = featureShape;
    const state = this.stage.openSession();
    const rgb = new Uint8Array(inputWidth * inputHeight * 3).fill(128);
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
    try {
      for (let t = 0; t < frames; t++) {
        const logits = new Float32Array(H * W);
        const x0 = Math.floor(W / 4) + t * 2;
        // Noisy logits: every branch of the per-pixel code (saturated and in-between values) runs
        // here, not first in a real session (an untaken branch costs a deoptimisation later).
        for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) logits[y * W + x] = (x >= x0 && x < x0 + W / 2 && y >= H / 4 && y < (3 * H) / 4 ? 4 : -4) + 8 * rand();
        const lt = tf.tensor3d(logits, [H, W, 1]);
        const ft = tf.tensor3d(Float32Array.from({ length: h * w * c }, rand), [h, w, c]);
        try {
          const p = this.stage.process(state, { logits: lt, features: ft, rgb });
          try {
            this.stage.commit(state, Uint8Array.from(p.dataSync(), (v) => Math.round(v * 255)));
          } finally {
            p.dispose();
          }
        } finally {
          tf.dispose([lt, ft]);
        }
      }
    } finally {
      state.dispose();
    }
  }

  /** Allocates the session's temporal memory (fixed size). */
  openSession(id: string): void {
    this.assertOpen();
    if (this.sessions.has(id)) throw new DuplicateSessionError(`session "${id}" is already open in the inference engine`);
    this.sessions.set(id, { temporal: this.stage.openSession(), roi: this.roiOptions ? new RoiTracker(this.roiOptions, this.info.inputWidth / this.info.inputHeight) : null });
  }

  /**
   * A decoded picture of session `id` → model input, in one pass over the picture: the views
   * the session's region of interest plans (crops around each group of people, the whole
   * picture when due; without region of interest, the whole picture), each cut and converted to
   * model-size RGB, and the whole picture's luma at mask size when the temporal stage reads it.
   * Hand the result to processBatch() for this same session.
   */
  prepare(id: string, pic: I420Picture): PreparedFrame {
    this.assertOpen();
    const s = this.sessions.get(id);
    if (!s) throw new UnknownSessionError(`session "${id}" is not open in the inference engine; call openSession() first`);
    const t0 = performance.now();
    const plan: RoiView[] = s.roi?.plan(pic.width, pic.height) ?? [{ kind: 'whole', box: wholePicture(pic.width, pic.height) }];
    const { inputWidth: iw, inputHeight: ih, maskWidth: mw, maskHeight: mh } = this.info;
    // The whole picture's luma at mask size, only for a stage that reads it: from the same pass
    // as a whole view's RGB where the model's input and mask sizes agree, else a pass of its own.
    const luma = this.stage.usesLuma ? new Uint8Array(mw * mh) : undefined;
    let lumaDone = false;
    const views = plan.map((view): PreparedView => {
      if (view.kind !== 'whole') return { view, rgb: i420ToRgb(cropI420(pic, view.box), iw, ih).data };
      const same = luma !== undefined && !lumaDone && iw === mw && ih === mh;
      lumaDone ||= same;
      return { view, rgb: i420ToRgb(pic, iw, ih, undefined, same ? luma : undefined).data };
    });
    if (luma && !lumaDone) i420Luma(pic, mw, mh, luma);
    // The second model's input: a crop of its own around each person the mask leaves out.
    const second = this.second?.info;
    const seconds = second && s.roi ? s.roi.secondCrops().map((crop): PreparedSecond => ({ crop, rgb: paddedCropRgb(pic, crop.box, second.inputWidth, second.inputHeight)})) : [];
    const detect = this.detector && s.roi?.detectionDue ? pic : undefined;
    return { views, ...(seconds.length ? { seconds } : {}), ...(luma ? { luma } : {}), ...(detect ? { detect } : {}), ms: performance.now() - t0 };
  }

  /** The picture at the detector's input size, aspect kept, black bars right and below. */
  private letterboxed(pic: I420Picture, d: PersonDetector): { rgb: Uint8Array; box: Letterbox } {
    const box = letterbox(pic.width, pic.height, d.inputWidth, d.inputHeight);
    const content = i420ToRgb(pic, box.width, box.height).data;
    const rgb = new Uint8Array(d.inputWidth * d.inputHeight * 3);
    for (let y = 0; y < box.height; y++) rgb.set(content.subarray(y * box.width * 3, (y + 1) * box.width * 3), y * d.inputWidth * 3);
    return { rgb, box };
  }

  /**
   * One decoded picture of session `id`, start to end (prepare + processBatch of one, then the
   * person detector if it was due: its people reach the session's next frame, as in the server):
   * the CLI's and the naive path's entry.
   */
  segment(id: string, pic: I420Picture): SegmentResult {
    const frame = this.prepare(id, pic);
    const r = { ...this.processBatch([{ id, frame }])[0]!, preprocessMs: frame.ms };
    this.detectPending();
    return r;
  }

  /** Whether a picture waits for the person detector (the worker then calls detectPending() between frames). */
  get detectionPending(): boolean {
    return this.detectQueue.size > 0;
  }

  /**
   * The person detector on every picture waiting for it, as one batch; what it finds goes to
   * each session's next frame. Run between frames, off any frame's path: the detector costs
   * several backbone runs, and a frame that waited for it would carry that in its latency.
   * Its time reaches the next result of each session it looked at (SegmentResult.detectMs).
   * @param limit pictures to look at now, oldest first (the worker takes one at a time, so a
   *   frame arriving meanwhile waits for one detection at most, and the batch shape, and with it
   *   ONNX Runtime's memory, stays that of one picture)
   * @returns pictures looked at
   */
  detectPending(limit = Infinity): number {
    this.assertOpen();
    const d = this.detector;
    if (!d || this.detectQueue.size === 0) return 0;
    const due: [EngineSession, I420Picture][] = [];
    for (const [id, pic] of this.detectQueue) {
      if (due.length >= limit) break;
      this.detectQueue.delete(id);
      const s = this.sessions.get(id);
      if (s) due.push([s, pic]);
    }
    if (due.length === 0) return 0;
    const t0 = performance.now();
    const found = d.detect(due.map(([, p]) => this.letterboxed(p, d)));
    const ms = (performance.now() - t0) / due.length;
    due.forEach(([s, p], i) => (s.detections = { found: found[i]!, width: p.width, height: p.height, ms }));
    return due.length;
  }

  /** Frames of session `id` segmented on a crop and on the whole picture so far (null without region of interest). */
  roiCounts(id: string): { cropped: number; whole: number } | null {
    const r = this.sessions.get(id)?.roi;
    return r ? { cropped: r.cropped, whole: r.whole } : null;
  }

  /** Temporal memory held by all open sessions, bytes. */
  get temporalBytes(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.temporal.bytes;
    return n;
  }

  /** The temporal stage in use (name, implementation) for logs and benchmarks. */
  get temporalStage(): TemporalStage {
    return this.stage;
  }

  /** Which batch sizes run as one graph execution (the rest run back to back). */
  get batchSupport(): BatchSupport {
    return this.backbone.batchSupport;
  }

  /**
   * One frame of session `id` as model-input RGB made elsewhere (the whole picture; the session's
   * region of interest is not tracked). luma: the whole picture at mask size, for attention-fine.
   */
  process(id: string, rgb: Uint8Array, luma?: Uint8Array): SegmentResult {
    const box = wholePicture(this.info.inputWidth, this.info.inputHeight);
    return this.processBatch([{ id, frame: { views: [{ rgb, view: { kind: 'whole', box } }], ...(luma ? { luma } : {}), ms: 0 } }], false)[0]!;
  }

  /**
   * Frames of different sessions: every view of every frame through the backbone (one batch, in
   * chunks of the backbone's largest batch), then each frame's views back on its whole picture,
   * through the temporal stage with its own session's state, its region of interest updated,
   * and the detail layers of its crops. Results in input order (result i belongs to items[i].id).
   * inferenceMs is the whole batch's backbone time (every frame waited for all of it); batchSize
   * says how many views shared it and views how many were this frame's.
   * track = false: the views are not the session's plan (process()), so its tracker is left alone.
   */
  processBatch(items: readonly BatchItem[], track = true): SegmentResult[] {
    this.assertOpen();
    const states: EngineSession[] = [];
    const seen = new Set<string>();
    for (const { id, frame } of items) {
      const state = this.sessions.get(id);
      if (!state) throw new UnknownSessionError(`session "${id}" is not open in the inference engine; call openSession() first`);
      if (seen.has(id)) throw new BatchSessionError(`session "${id}" appears twice in one batch; a session's frames must be processed one after another`);
      if (frame.views.length === 0) throw new RangeError(`frame of session "${id}" has no views`);
      seen.add(id);
      states.push(state);
    }
    const rgbs = items.flatMap((x) => x.frame.views.map((v) => v.rgb));
    const t0 = performance.now();
    // Synchronous on every backend: the outputs are in CPU memory when runBatch returns, so
    // inferenceMs is the real compute time, not the time to enqueue it.
    const outs: BackboneOutput[] = [];
    const chunk = Math.max(1, this.backbone.batchSupport.maxBatch);
    for (let i = 0; i < rgbs.length; i += chunk) outs.push(...this.backbone.runBatch(rgbs.slice(i, i + chunk)));
    // The second model on the doubts' crops, as one batch after the first.
    const seconds = items.flatMap((x) => (x.frame.seconds ?? []).map((p) => p.rgb));
    const secondOuts: BackboneOutput[] = [];
    if (this.second && seconds.length) {
      const c2 = Math.max(1, this.second.batchSupport.maxBatch);
      for (let i = 0; i < seconds.length; i += c2) secondOuts.push(...this.second.runBatch(seconds.slice(i, i + c2)));
    }
    const inferenceMs = performance.now() - t0;
    let k = 0;
    let k2 = 0;
    return items.map((item, i) => {
      const mine = outs.slice(k, (k += item.frame.views.length));
      const theirs = (item.frame.seconds ?? []).map((p) => ({ crop: p.crop, out: secondOuts[k2++]! }));
      const state = states[i]!;
      // People found on an earlier picture of the same size; this frame's picture waits for its turn.
      const earlier = state.detections;
      delete state.detections;
      if (track && item.frame.detect) this.detectQueue.set(item.id, item.frame.detect);
      const detections = earlier && earlier.width === item.frame.views[0]!.view.box.pictureWidth && earlier.height === item.frame.views[0]!.view.box.pictureHeight ? earlier.found : undefined;
      const r = this.finish(state, item.frame, mine, theirs, inferenceMs, rgbs.length + seconds.length, track, detections);
      return earlier ? { ...r, detectMs: earlier.ms } : r;
    });
  }

  /** The logit at which a cell counts as person for the region of interest (its threshold). */
  private get personLogit(): number {
    return thresholdLogit(this.roiOptions?.threshold ?? 128);
  }

  /** Whole-picture buffers of the region-of-interest path, reused frame after frame (one frame at a time per engine). */
  private scratch?: MergeScratch & { correction: Float32Array };

  /**
   * One frame after the backbone: its views back on the whole picture (the time goes to roiMs),
   * the temporal stage, the region of interest's next plan, the crops' detail layers. The
   * temporal stage reads arrays; tensors of them are made only if it asks (its tensor path), and
   * freed here.
   */
  private finish(session: EngineSession, frame: PreparedFrame, outs: readonly BackboneOutput[], seconds: readonly { crop: SecondCrop; out: BackboneOutput }[], inferenceMs: number, batchSize: number, track: boolean, detections?: readonly Detection[]): SegmentResult {
    const { maskWidth: W, maskHeight: H, featureShape: [h, w, c] } = this.info;
    const t0 = performance.now();
    const views = frame.views;
    const scratch = (this.scratch ??= { ...mergeScratch(this.info), correction: new Float32Array(W * H) });
    const crops = views.some((v) => v.view.kind === 'crop');
    const data = mergePlanned(views.map((v, i) => ({ view: v.view, rgb: v.rgb, logits: outs[i]!.logits, features: outs[i]!.features })), this.info, scratch);
    // The second model's opinion inside each doubt, on the whole picture's grid, before anything
    // reads the logits (also where no view looked this frame); the tracker hears what it added
    // (a doubt whose runs add nothing rests). The crops' own grids get it too (their detail layers).
    const picture = views[0]!.view.box;
    const whole = wholePicture(picture.pictureWidth, picture.pictureHeight);
    const t = this.personLogit;
    for (const { crop, out } of this.second ? seconds : []) {
      const g = this.second!.info;
      const put = (grid: Float32Array, box: RoiBox) => overlaySecond(grid, W, H, box, out.logits, g.maskWidth, g.maskHeight, crop.box, crop.region, crop.doubt, t);
      const effect = put(data.logits, whole);
      if (data.found !== data.logits) put(data.found, whole);
      views.forEach((v, i) => {
        if (v.view.kind === 'crop' && !v.view.discovery && outs[i]!.logits !== data.logits) put(outs[i]!.logits, v.view.box);
      });
      if (track) session.roi?.secondOpinion(crop.doubt, effect.cells, effect.added);
    }
    const secondRuns = seconds.length;
    const t1 = performance.now();
    const made: tf.Tensor[] = [];
    let logits: tf.Tensor3D | undefined;
    let features: tf.Tensor3D | undefined;
    const input: TemporalInput = {
      rgb: data.rgb,
      ...(frame.luma ? { luma: frame.luma } : {}),
      logitsData: data.logits,
      featuresData: data.features,
      get logits(): tf.Tensor3D {
        // A copy: the cpu backend keeps the array it is given, and the scratch is reused.
        if (!logits) made.push((logits = tf.tensor3d(data.logits.slice(), [H, W, 1])));
        return logits;
      },
      get features(): tf.Tensor3D {
        if (!features) made.push((features = tf.tensor3d(data.features.slice(), [h, w, c])));
        return features;
      },
    };
    let mask: Uint8Array;
    let temporalMs: number;
    try {
      ({ mask, temporalMs } = this.fuse(session.temporal, input));
    } finally {
      tf.dispose(made);
    }
    const t2 = performance.now();
    let details: MaskDetail[] | undefined;
    if (session.roi && track) {
      session.roi.observe(data.found, W, H, picture.pictureWidth, picture.pictureHeight, views.map((v) => v.view), detections, mask);
      // Detail layers of the crops (not of discovery tiles: nobody is tracked there yet).
      const crops = views.map((v, i) => ({ v, out: outs[i]! })).filter((x) => x.v.view.kind === 'crop');
      if (crops.length) {
        const correction = temporalCorrection(mask, data.logits, scratch.correction);
        details = crops.map(({ v, out }) => ({ box: v.view.box, width: W, height: H, alpha: detailLayer(out.logits, v.view.box, W, H, correction, W, H) }));
      }
    }
    const t3 = performance.now();
    return {
      mask,
      width: W,
      height: H,
      inferenceMs,
      temporalMs,
      ...(session.roi && track ? { roiMs: t1 - t0 + (t3 - t2) } : {}),
      region: crops ? 'crop' : 'whole',
      views: views.length + secondRuns,
      ...(secondRuns ? { secondViews: secondRuns } : {}),
      ...(batchSize > 1 ? { batchSize } : {}),
      ...(details ? { details } : {}),
    };
  }

  /** The temporal stage, then probability × 255 to bytes, committed to the session's memory. */
  private fuse(state: TemporalState, input: TemporalInput): { mask: Uint8Array; temporalMs: number } {
    const t1 = performance.now();
    const direct = this.stage.processToArray?.(state, input);
    // Probability × 255 to bytes: a Uint8ClampedArray rounds to nearest and clamps to [0, 255].
    let mask: Uint8ClampedArray;
    if (direct) {
      mask = new Uint8ClampedArray(direct.length);
      for (let i = 0; i < direct.length; i++) mask[i] = direct[i]! * 255;
    } else {
      const fused = this.stage.process(state, input);
      try {
        const scaled = tf.tidy(() => tf.mul(fused, 255));
        try {
          mask = new Uint8ClampedArray(scaled.size);
          mask.set(scaled.dataSync() as Float32Array); // natively, in one pass
        } finally {
          scaled.dispose();
        }
      } finally {
        fused.dispose();
      }
    }
    const bytes = new Uint8Array(mask.buffer);
    this.stage.commit(state, bytes);
    return { mask: bytes, temporalMs: performance.now() - t1 };
  }

  /** Frees the session's ring buffer; false if it was not open. Safe after close(). */
  closeSession(id: string): boolean {
    const state = this.sessions.get(id);
    if (!state) return false;
    this.sessions.delete(id);
    this.detectQueue.delete(id);
    state.temporal.dispose();
    return true;
  }

  /** This thread's tf counters and open ONNX Runtime sessions (the worker reports them for leak checks). */
  memory(): EngineMemory {
    const m = tf.memory();
    return { numTensors: m.numTensors, numDataBuffers: m.numDataBuffers, numBytes: m.numBytes, temporalBytes: this.temporalBytes, sessions: this.sessions.size, nativeSessions: openOrtSessions() };
  }

  /** Closes every session, then frees the model. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.sessions.keys()]) this.closeSession(id);
    this.stage.dispose();
    this.backbone.dispose();
    this.detector?.dispose();
    this.second?.dispose();
  }

  private assertOpen(): void {
    if (this.closed) throw new EngineClosedError('the segmentation engine is closed');
  }
}
