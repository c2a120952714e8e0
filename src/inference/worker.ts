/**
 * worker_threads entry: hosts one SegmentationEngine so preprocessing and model inference
 * never block the main thread's WebRTC/event loop. Started by InferenceWorker
 * (inferenceWorker.ts) with workerData = EngineOptions; speaks the small typed messages below.
 * Messages are handled one at a time, in order (the engine is synchronous).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SegmentationEngine, type BatchItem, type EngineMemory } from './engine.js';
import type { BatchSupport } from './backbone.js';
import { packI420Picture, packedToRgb, unpackI420 } from './packedI420.js';
import type { BackendAttempt, EngineInfo, EngineOptions, PackedI420, SegmentResult } from './types.js';

/**
 * One frame for the worker: model-input RGB, or a decoded I420 picture the worker resizes and
 * converts itself (preprocessMs in the result). Exactly one of the two; its buffer is transferred.
 */
export interface WorkerFrame {
  readonly sessionId: string;
  readonly rgb?: Uint8Array;
  readonly i420?: PackedI420;
}

/** Per frame of a batch: its result, or why it failed. */
export type WorkerItemResult =
  | { readonly ok: true; readonly result: SegmentResult }
  | { readonly ok: false; readonly error: SerializedError };

/** Main thread → worker. `id` pairs a reply with its request. */
export type WorkerRequest =
  /**
   * Frames of distinct sessions, run as one backbone batch (EngineOptions.maxBatch permitting).
   * Buffers are transferred. Sessions are opened lazily on their first frame.
   */
  | { readonly type: 'batch'; readonly id: number; readonly frames: readonly WorkerFrame[] }
  | { readonly type: 'closeSession'; readonly sessionId: string }
  | { readonly type: 'memory'; readonly id: number }
  | { readonly type: 'close'; readonly id: number }
  /** Tests only: the worker throws from its message handler, i.e. dies like on a real bug. */
  | { readonly type: 'crashForTesting' };

export interface SerializedError {
  readonly name: string;
  readonly message: string;
}

/** Worker → main thread. */
export type WorkerReply =
  | { readonly type: 'ready'; readonly info: EngineInfo; readonly backendAttempts: readonly BackendAttempt[]; readonly batchSupport: BatchSupport }
  | { readonly type: 'initError'; readonly error: SerializedError }
  /** In the order of the request's frames; every result's mask (and detail layer) buffer is transferred. */
  | { readonly type: 'batchResult'; readonly id: number; readonly results: readonly WorkerItemResult[] }
  | { readonly type: 'memory'; readonly id: number; readonly memory: EngineMemory }
  | { readonly type: 'error'; readonly id: number; readonly error: SerializedError }
  /** The person detector failed between frames: its pictures are lost, the frames are not. */
  | { readonly type: 'detectorError'; readonly error: SerializedError }
  | { readonly type: 'closed'; readonly id: number };

export class WorkerCrashForTestingError extends Error {
  override readonly name = 'WorkerCrashForTestingError';
}

function serialize(e: unknown): SerializedError {
  return e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
}

async function main(): Promise<void> {
  const port = parentPort!;
  const send = (msg: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

  let engine: SegmentationEngine;
  try {
    engine = await SegmentationEngine.create(workerData as EngineOptions);
    warmUp(engine);
  } catch (e) {
    send({ type: 'initError', error: serialize(e) });
    port.close(); // lets the thread exit: nothing else keeps it alive
    return;
  }

  // The person detector runs after the masks have left, between frames, one picture at a time
  // (engine.detectPending).
  let detectScheduled = false;
  let closed = false;
  const detectBetweenFrames = () => {
    if (detectScheduled || !engine.detectionPending) return;
    detectScheduled = true;
    setImmediate(() => {
      detectScheduled = false;
      if (closed) return;
      try {
        engine.detectPending(1);
      } catch (e) {
        send({ type: 'detectorError', error: serialize(e) });
      }
      detectBetweenFrames();
    });
  };

  port.on('message', (msg: WorkerRequest) => {
    switch (msg.type) {
      case 'batch': {
        const results = runBatch(engine, msg.frames);
        const transfer = results.flatMap((r) => (r.ok ? [r.result.mask.buffer as ArrayBuffer, ...(r.result.details ?? []).map((d) => d.alpha.buffer as ArrayBuffer)] : []));
        send({ type: 'batchResult', id: msg.id, results }, transfer);
        detectBetweenFrames();
        return;
      }
      case 'closeSession':
        engine.closeSession(msg.sessionId);
        return;
      case 'memory':
        send({ type: 'memory', id: msg.id, memory: engine.memory() });
        return;
      case 'close':
        closed = true;
        engine.close();
        send({ type: 'closed', id: msg.id });
        port.close();
        return;
      case 'crashForTesting':
        throw new WorkerCrashForTestingError('inference worker crashed on request (crashForTesting message, tests only)');
    }
  });
  send({ type: 'ready', info: engine.info, backendAttempts: engine.backendAttempts, batchSupport: engine.batchSupport });
}

/**
 * Compiles the per-frame JavaScript before the first session: the I420 → RGB preprocess on a
 * grey 640×480 picture and the temporal stage (engine.warmUp, which says what it measured).
 */
function warmUp(engine: SegmentationEngine): void {
  const width = 640;
  const height = 480;
  const pic = { width, height, y: new Uint8Array(width * height).fill(128), u: new Uint8Array((width * height) / 4).fill(128), v: new Uint8Array((width * height) / 4).fill(128), yStride: width, uvStride: width / 2 };
  for (let i = 0; i < 3; i++) packedToRgb(packI420Picture(pic), engine.info.inputWidth, engine.info.inputHeight);
  engine.warmUp();
}

/**
 * Preprocesses each frame (a bad one fails alone), then runs the rest as one engine batch;
 * an engine error fails every frame of that batch.
 */
function runBatch(engine: SegmentationEngine, frames: readonly WorkerFrame[]): WorkerItemResult[] {
  const out: (WorkerItemResult | undefined)[] = new Array(frames.length).fill(undefined);
  const items: BatchItem[] = [];
  const where: number[] = [];
  const preprocessMs: (number | undefined)[] = [];
  frames.forEach((f, i) => {
    try {
      if (!f.i420 && !f.rgb) throw new TypeError('a worker frame needs rgb or i420');
      if (!engine.hasSession(f.sessionId)) engine.openSession(f.sessionId);
      if (f.i420) {
        // Cut to the session's region of interest (when enabled) and converted here, on this thread.
        const frame = engine.prepare(f.sessionId, unpackI420(f.i420));
        preprocessMs[i] = frame.ms;
        items.push({ id: f.sessionId, frame });
      } else {
        // RGB made elsewhere: the whole picture, its region of interest not tracked.
        const box = { x: 0, y: 0, width: engine.info.inputWidth, height: engine.info.inputHeight, pictureWidth: engine.info.inputWidth, pictureHeight: engine.info.inputHeight };
        items.push({ id: f.sessionId, frame: { views: [{ rgb: f.rgb!, view: { kind: 'whole', box } }], ms: 0 } });
      }
      where.push(i);
    } catch (e) {
      out[i] = { ok: false, error: serialize(e) };
    }
  });
  if (items.length) {
    try {
      engine.processBatch(items).forEach((result, k) => {
        const i = where[k]!;
        const ms = preprocessMs[i];
        out[i] = { ok: true, result: ms === undefined ? result : { ...result, preprocessMs: ms } };
      });
    } catch (e) {
      for (const i of where) out[i] = { ok: false, error: serialize(e) };
    }
  }
  return out as WorkerItemResult[];
}

if (isMainThread || !parentPort) {
  throw new Error('src/inference/worker.ts is a worker_threads entry; start it through InferenceWorker.start()');
}
void main();
