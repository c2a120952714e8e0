/**
 * A pool of inference worker threads (InferenceWorker members, one engine each) behind the
 * FrameScheduler: sessions submit decoded frames; each session is pinned to one worker (its
 * temporal state lives there); an idle worker takes the oldest waiting frames of its sessions,
 * up to maxBatch of distinct sessions at once; a newer frame replaces a waiting one (latest
 * frame wins). Frames travel as transferred I420 buffers and are converted in the worker.
 *
 * A worker that crashes fails the frames it was running (the caller counts them as
 * inference_error), its sessions lose their temporal state (counted, reopened lazily on the
 * replacement), and a replacement starts at once; the sessions' next frames wait for it.
 *
 * Close cascade (runs once): timers → waiting frames answered `closed` → every member closed.
 */
import { Emitter } from '../shared/events.js';
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import type { EngineMemory } from './engine.js';
import { FrameScheduler, type Scheduled } from './frameScheduler.js';
import { InferenceWorker, InferenceWorkerClosedError, RemoteInferenceError, type InferenceWorkerOptions, type RestartEvent, type WorkerCrashedError } from './inferenceWorker.js';
import type { BackendAttempt, BackendName, EngineInfo, InferenceInput, InferenceOutcome } from './types.js';

/**
 * Workers used when the configured count is 0 (auto), by backend. libtensorflow (CPU or GPU)
 * parallelises inside one session.run and one GPU is best fed by one thread of batches, so 1.
 * wasm has no threads in Node: one worker per core. Measured on 2 cores with 2 streams of
 * 640×480 VP8 (docs/performance.md): 1 worker 47.8 masks/s in all (20 % superseded), 2 workers
 * 59.0 masks/s (1.6 %) — the main thread (WebRTC, decode hand-off) needs only ~15 % of a core,
 * so leaving it a whole core wastes one.
 */
export function autoWorkers(backend: BackendName, cores = os.availableParallelism()): number {
  if (backend === 'tensorflow' || backend === 'tensorflow-gpu') return 1;
  // GPU providers: the GPU runs the batches; the workers' CPU share is preprocessing and the
  // temporal stage (≈ 3–4 ms a frame), so half the cores, leaving the rest to WebRTC and decoding.
  // Not measured on a GPU yet (docs/performance.md).
  if (backend === 'ort-cuda' || backend === 'ort-webgpu') return Math.max(1, Math.floor(cores / 2));
  return Math.max(1, cores);
}

export interface InferencePoolOptions extends InferenceWorkerOptions {
  /** Worker threads; 0 = autoWorkers(backend). */
  readonly workers: number;
  /** How long a frame may wait for frames of other sessions to batch with, ms (only when maxBatch > 1). */
  readonly batchWindowMs: number;
  /** Clock, ms (tests). */
  readonly now?: () => number;
}

/** The pool, or its engine, cannot be used (closed; a replacement worker could not start). */
export class InferencePoolClosedError extends InferenceWorkerClosedError {}

interface PendingFrame {
  readonly input: InferenceInput;
  resolve(o: InferenceOutcome): void;
  reject(e: Error): void;
}

export class InferencePool {
  private readonly scheduler: FrameScheduler<PendingFrame>;
  private readonly timers: (NodeJS.Timeout | undefined)[];
  private readonly events = new Emitter<{ sessionsReset: [number]; crash: [WorkerCrashedError, number] }>();
  private readonly now: () => number;
  private sessionResets = 0;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly members: readonly InferenceWorker[],
    readonly batchWindowMs: number,
    now: (() => number) | undefined,
  ) {
    const first = members[0]!;
    this.now = now ?? (() => performance.now());
    this.scheduler = new FrameScheduler({ workers: members.length, maxBatch: first.batchSupport.maxBatch, batchWindowMs });
    this.timers = members.map(() => undefined);
    members.forEach((m, w) => m.onCrash((e) => this.handleCrash(w, e)));
  }

  /**
   * Starts the workers (the first alone when the count is auto, to learn the backend) and
   * resolves once every model is loaded.
   */
  static async start(opts: InferencePoolOptions): Promise<InferencePool> {
    const first = await InferenceWorker.start(opts);
    const n = opts.workers > 0 ? opts.workers : autoWorkers(first.info.backend);
    const rest = await Promise.allSettled(Array.from({ length: n - 1 }, () => InferenceWorker.start(opts)));
    const started = [first, ...rest.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))];
    const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((m) => m.close()));
      throw failed.reason as Error;
    }
    return new InferencePool(started, opts.batchWindowMs, opts.now);
  }

  get info(): EngineInfo {
    return this.members[0]!.info;
  }

  get backendAttempts(): readonly BackendAttempt[] {
    return this.members[0]!.backendAttempts;
  }

  /** Worker threads. */
  get workers(): number {
    return this.members.length;
  }

  /** Largest cross-session batch (1 = batching off). */
  get maxBatch(): number {
    return this.members[0]!.batchSupport.maxBatch;
  }

  /** Batch sizes that run as one graph execution; others run back to back in one worker message. */
  get batchGraphSizes(): readonly number[] {
    return this.members[0]!.batchSupport.graphSizes;
  }

  /** Frames waiting for a worker, over all sessions (at most one per session). */
  get waitingFrames(): number {
    return this.scheduler.waitingFrames;
  }

  /** Workers replaced after a crash, over the pool. */
  get restarts(): number {
    return this.members.reduce((n, m) => n + m.restarts, 0);
  }

  /** Sessions whose temporal state was lost in a worker crash, so far. */
  get temporalResets(): number {
    return this.sessionResets;
  }

  /** The worker a session is pinned to (tests, logs). */
  workerOf(sessionId: string): number | undefined {
    return this.scheduler.workerOf(sessionId);
  }

  /** Frames the session has waiting (0 or 1). */
  waitingOf(sessionId: string): number {
    return this.scheduler.waitingOf(sessionId);
  }

  onRestart(cb: (e: RestartEvent) => void): void {
    for (const m of this.members) m.onRestart(cb);
  }

  /** The person detector failed between frames in a worker (for logs). */
  onDetectorError(cb: (e: Error, worker: number) => void): void {
    this.members.forEach((m, w) => m.onDetectorError((e) => cb(e, w)));
  }

  /** A worker died; its in-flight frames were failed. */
  onCrash(cb: (e: WorkerCrashedError, worker: number) => void): void {
    this.events.on('crash', cb);
  }

  /** Sessions lost their temporal state in a crash (called with how many). */
  onSessionsReset(cb: (sessions: number) => void): void {
    this.events.on('sessionsReset', cb);
  }

  /**
   * Offer a session's newest decoded frame. Resolves with its mask, or `dropped` when a newer
   * frame replaced it or the session closed first; rejects when inference failed (the worker
   * crashed: WorkerCrashedError; the engine refused it: RemoteInferenceError).
   */
  submit(sessionId: string, input: InferenceInput): Promise<InferenceOutcome> {
    if (this.closing) return Promise.reject(new InferencePoolClosedError('inference pool is closed'));
    return new Promise<InferenceOutcome>((resolve, reject) => {
      const { worker, superseded } = this.scheduler.offer(sessionId, { input, resolve, reject }, this.now());
      superseded?.resolve({ kind: 'dropped', reason: 'superseded' });
      this.pump(worker);
    });
  }

  /** The session ended: its waiting frame is answered `closed`, its temporal state freed in its worker. */
  closeSession(sessionId: string): void {
    const worker = this.scheduler.workerOf(sessionId);
    this.scheduler.close(sessionId)?.resolve({ kind: 'dropped', reason: 'closed' });
    if (worker !== undefined) this.members[worker]!.closeSession(sessionId);
  }

  /** Tensor and session counters summed over the workers (leak tests, the temporal memory gauge). */
  async memory(): Promise<EngineMemory> {
    if (this.closing) throw new InferencePoolClosedError('inference pool is closed');
    const all = await Promise.all(this.members.map((m) => m.memory()));
    return all.reduce((a, b) => ({
      numTensors: a.numTensors + b.numTensors,
      numDataBuffers: a.numDataBuffers + b.numDataBuffers,
      numBytes: a.numBytes + b.numBytes,
      temporalBytes: a.temporalBytes + b.temporalBytes,
      sessions: a.sessions + b.sessions,
      nativeSessions: a.nativeSessions + b.nativeSessions,
    }));
  }

  /** Tests only: makes one worker throw from its message loop, as a bug would. */
  crashForTesting(worker = 0): void {
    this.members[worker]!.crashForTesting();
  }

  /** Stops scheduling, answers waiting frames `closed`, closes every worker. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (let w = 0; w < this.timers.length; w++) this.clearTimer(w);
      for (let w = 0; w < this.members.length; w++) {
        for (const f of this.scheduler.takeWaiting(w)) f.resolve({ kind: 'dropped', reason: 'closed' });
      }
      await Promise.all(this.members.map((m) => m.close()));
    })();
    return this.closing;
  }

  /** Give worker `w` work if it is idle and running (a crashed one is restarted first). */
  private pump(w: number): void {
    if (this.closing || this.scheduler.isBusy(w)) return;
    const member = this.members[w]!;
    if (!member.running) {
      this.restart(w);
      return;
    }
    const step = this.scheduler.next(w, this.now());
    if (step.kind === 'wait') {
      this.clearTimer(w);
      this.timers[w] = setTimeout(() => {
        this.timers[w] = undefined;
        this.pump(w);
      }, Math.max(0, step.untilMs - this.now()));
      return;
    }
    if (step.kind === 'idle') return;
    this.clearTimer(w);
    this.run(w, member, step.batch);
  }

  private run(w: number, member: InferenceWorker, batch: readonly Scheduled<PendingFrame>[]): void {
    const dispatched = this.now();
    member.run(batch.map((b) => ({ sessionId: b.sessionId, ...b.frame.input }))).then(
      (results) => {
        const back = this.now();
        batch.forEach((b, i) => {
          const r = results[i]!;
          if (r.ok) b.frame.resolve({ kind: 'mask', result: r.result, queueMs: dispatched - b.offeredMs, roundTripMs: back - dispatched });
          else b.frame.reject(new RemoteInferenceError(r.error));
        });
      },
      (err: Error) => {
        for (const b of batch) b.frame.reject(err);
      },
    ).finally(() => {
      this.scheduler.done(w);
      this.pump(w);
    });
  }

  private handleCrash(w: number, e: WorkerCrashedError): void {
    const lost = this.scheduler.sessionsOn(w).length;
    // Listeners are isolated (Emitter): one that throws cannot skip the restart below.
    this.events.emit('crash', e, w);
    if (lost > 0) {
      this.sessionResets += lost;
      this.events.emit('sessionsReset', lost);
    }
    this.restart(w);
  }

  /** Start a replacement for worker `w` now; frames of its sessions wait for it (latest wins). */
  private restart(w: number): void {
    if (this.closing) return;
    this.members[w]!.ensureRunning().then(
      () => this.pump(w),
      (err: Error) => {
        // The replacement could not load (e.g. the weights changed on disk): fail what waits;
        // the next frame of one of its sessions tries again.
        if (this.closing) return;
        for (const f of this.scheduler.takeWaiting(w)) f.reject(err);
      },
    );
  }

  private clearTimer(w: number): void {
    const t = this.timers[w];
    if (t) clearTimeout(t);
    this.timers[w] = undefined;
  }
}
