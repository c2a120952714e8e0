/**
 * Main-thread handle on one inference worker thread (worker.ts); the member type of
 * InferencePool. Frames go over by transferring their ArrayBuffer, masks come back the same
 * way. If the worker thread dies, every request in flight rejects with WorkerCrashedError and
 * a fresh worker is started by the next call (or at once by ensureRunning()): sessions are
 * re-opened lazily on their next frame, their temporal memory is lost (acceptable: the ring
 * refills within ringSize frames).
 */
import { Emitter } from '../shared/events.js';
import { Worker } from 'node:worker_threads';
import type { EngineMemory } from './engine.js';
import type { BatchSupport } from './backbone.js';
import { spansBuffer } from './packedI420.js';
import type { BackendAttempt, EngineInfo, EngineOptions, PackedI420, SegmentResult } from './types.js';
import type { SerializedError, WorkerFrame, WorkerItemResult, WorkerReply, WorkerRequest } from './worker.js';

export interface InferenceWorkerOptions extends EngineOptions {
  /** How long close() waits for the worker to free its tensors before terminating it, ms. */
  readonly closeTimeoutMs?: number;
}

/** The worker thread died (uncaught exception, OOM, terminate) while the request was in flight. */
export class WorkerCrashedError extends Error {
  override readonly name = 'WorkerCrashedError';
}

/** The InferenceWorker was closed; no more requests. */
export class InferenceWorkerClosedError extends Error {
  override readonly name = 'InferenceWorkerClosedError';
}

/**
 * An error thrown inside the worker (e.g. ModelIntegrityError, FrameSizeError), re-raised here.
 * `name` is the worker-side error's name, so logs read the same as in-process.
 */
export class RemoteInferenceError extends Error {
  constructor(remote: SerializedError) {
    super(remote.message);
    this.name = remote.name;
  }
}

export interface RestartEvent {
  /** Restarts so far, this one included. */
  readonly restarts: number;
  /** Why the previous worker died. */
  readonly reason: string;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

export class InferenceWorker {
  private thread: WorkerThread | undefined;
  private starting: Promise<WorkerThread> | undefined;
  private lastCrash = '';
  private restartCount = 0;
  private readonly events = new Emitter<{ restart: [RestartEvent]; crash: [WorkerCrashedError]; detectorError: [Error] }>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly opts: InferenceWorkerOptions,
    first: WorkerThread,
    /** Fixed for the process: every restart loads the same model on the same backend choice. */
    readonly info: EngineInfo,
    readonly backendAttempts: readonly BackendAttempt[],
    /** Batch sizes the backbone runs as one graph execution (the rest run back to back). */
    readonly batchSupport: BatchSupport,
  ) {
    this.adopt(first);
  }

  /** Starts the worker and resolves once its model is loaded; rejects with the worker's error. */
  static async start(opts: InferenceWorkerOptions): Promise<InferenceWorker> {
    const { thread, info, backendAttempts, batchSupport } = await WorkerThread.start(opts);
    return new InferenceWorker(opts, thread, info, backendAttempts, batchSupport);
  }

  /** Whether a worker thread is up right now (false after a crash until the replacement is ready). */
  get running(): boolean {
    return this.thread !== undefined && !this.thread.dead && !this.closing;
  }

  /** Starts a replacement now if the worker died (instead of on the next call); resolves when one runs. */
  async ensureRunning(): Promise<void> {
    if (this.closing) throw new InferenceWorkerClosedError('inference worker is closed');
    await this.live();
  }

  /** Workers started to replace a crashed one. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Called after a replacement worker is ready (for the restarts metric). */
  onRestart(cb: (e: RestartEvent) => void): () => void {
    return this.events.on('restart', cb);
  }

  /** Called when a worker dies unexpectedly (for logs). */
  onCrash(cb: (e: WorkerCrashedError) => void): () => void {
    return this.events.on('crash', cb);
  }

  /** Called when the person detector failed between frames (for logs; the frames were not affected). */
  onDetectorError(cb: (e: Error) => void): () => void {
    return this.events.on('detectorError', cb);
  }

  /**
   * Segments one frame of `sessionId` (inputWidth × inputHeight × 3 RGB bytes).
   * rgb's ArrayBuffer is transferred (detached here) when rgb spans all of it; a view into a
   * larger or shared buffer is copied instead, so a caller's pool is never stolen.
   */
  process(sessionId: string, rgb: Uint8Array): Promise<SegmentResult> {
    return this.run([{ sessionId, rgb }]).then(([r]) => {
      if (!r!.ok) throw new RemoteInferenceError(r!.error);
      return r!.result;
    });
  }

  /**
   * Frames of distinct sessions in one request (one backbone batch in the worker). Each
   * frame's buffer (rgb, or the packed I420 picture) is transferred when it spans its whole
   * ArrayBuffer, copied otherwise. Resolves with one outcome per frame, in order; rejects only
   * when the whole request fails (WorkerCrashedError, InferenceWorkerClosedError).
   */
  run(frames: readonly WorkerFrame[]): Promise<WorkerItemResult[]> {
    if (this.closing) return Promise.reject(new InferenceWorkerClosedError('inference worker is closed'));
    const transfer: ArrayBuffer[] = [];
    const own = (a: Uint8Array): Uint8Array => {
      const o = spansBuffer(a) ? a : a.slice();
      transfer.push(o.buffer as ArrayBuffer);
      return o;
    };
    const owned: WorkerFrame[] = frames.map((f) => {
      if (f.i420) {
        const i420: PackedI420 = { ...f.i420, data: own(f.i420.data) };
        return { sessionId: f.sessionId, i420 };
      }
      return { sessionId: f.sessionId, rgb: own(f.rgb ?? new Uint8Array(0)) };
    });
    const send = (t: WorkerThread) => t.request<WorkerItemResult[]>((id) => ({ type: 'batch', id, frames: owned }), transfer);
    const live = this.live();
    // Post synchronously when the worker is up, so the buffers are detached when this returns.
    return live instanceof WorkerThread ? send(live) : live.then(send);
  }

  /** Frees the session's temporal state in the worker. Fire-and-forget; no-op if the worker is down. */
  closeSession(sessionId: string): void {
    if (this.thread && !this.thread.dead) this.thread.post({ type: 'closeSession', sessionId });
  }

  /** The worker's tf counters (for leak tests and /healthz). */
  async memory(): Promise<EngineMemory> {
    if (this.closing) throw new InferenceWorkerClosedError('inference worker is closed');
    const t = await this.live();
    return t.request<EngineMemory>((id) => ({ type: 'memory', id }));
  }

  /** Tests only: makes the worker throw from its message loop, as a bug would. */
  crashForTesting(): void {
    this.thread?.post({ type: 'crashForTesting' });
  }

  /** Frees the engine in the worker, then ends the thread. Idempotent; requests after it reject. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // A replacement being started closes itself when it sees `closing` (see restart()).
      await Promise.all([this.thread?.close(this.closeTimeoutMs), this.starting?.catch(() => undefined)]);
    })();
    return this.closing;
  }

  private get closeTimeoutMs(): number {
    return this.opts.closeTimeoutMs ?? 5000;
  }

  /** The running worker, or a promise of a fresh one if it died (one restart at a time). */
  private live(): WorkerThread | Promise<WorkerThread> {
    if (this.thread && !this.thread.dead) return this.thread;
    // On failure `starting` is cleared too, so the next call tries again.
    this.starting ??= this.restart().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async restart(): Promise<WorkerThread> {
    const { thread } = await WorkerThread.start(this.opts);
    if (this.closing) {
      await thread.close(this.closeTimeoutMs);
      throw new InferenceWorkerClosedError('inference worker was closed while restarting');
    }
    this.adopt(thread);
    this.restartCount++;
    const ev: RestartEvent = { restarts: this.restartCount, reason: this.lastCrash };
    this.events.emit('restart', ev);
    return thread;
  }

  private adopt(t: WorkerThread): void {
    this.thread = t;
    t.onCrash = (e) => {
      this.lastCrash = e.message;
      this.events.emit('crash', e);
    };
    t.onDetectorError = (e) => this.events.emit('detectorError', e);
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** One worker thread and its requests in flight. Dies at most once. */
class WorkerThread {
  dead = false;
  onCrash: ((e: WorkerCrashedError) => void) | undefined;
  onDetectorError: ((e: Error) => void) | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closingReply: (() => void) | undefined;
  private closing = false;
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (m: WorkerReply) => this.onMessage(m));
    worker.on('error', (e: Error) => this.die(`inference worker crashed: ${e.name}: ${e.message}`));
    worker.on('exit', (code) => this.die(`inference worker exited unexpectedly (code ${code})`));
  }

  static start(opts: InferenceWorkerOptions): Promise<{ thread: WorkerThread; info: EngineInfo; backendAttempts: readonly BackendAttempt[]; batchSupport: BatchSupport }> {
    const engineOpts: EngineOptions = { model: opts.model, backend: opts.backend, temporal: opts.temporal, modelsDir: opts.modelsDir, maxBatch: opts.maxBatch, roi: opts.roi };
    const worker = new Worker(WORKER_URL, { workerData: engineOpts });
    return new Promise((resolve, reject) => {
      const onMessage = (m: WorkerReply) => {
        cleanup();
        if (m.type === 'ready') {
          resolve({ thread: new WorkerThread(worker), info: m.info, backendAttempts: m.backendAttempts, batchSupport: m.batchSupport });
        } else if (m.type === 'initError') {
          void worker.terminate();
          reject(new RemoteInferenceError(m.error));
        } else {
          void worker.terminate();
          reject(new WorkerCrashedError(`inference worker sent "${m.type}" before "ready"`));
        }
      };
      const onError = (e: Error) => {
        cleanup();
        void worker.terminate();
        reject(new WorkerCrashedError(`inference worker failed to start: ${e.name}: ${e.message}`));
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new WorkerCrashedError(`inference worker exited (code ${code}) before loading the model`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  request<T>(make: (id: number) => WorkerRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead) return Promise.reject(new WorkerCrashedError('inference worker is not running'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage(make(id), transfer);
    });
  }

  post(msg: WorkerRequest): void {
    if (!this.dead) this.worker.postMessage(msg);
  }

  /** Asks the worker to free its engine, waits up to timeoutMs, then terminates it. */
  async close(timeoutMs: number): Promise<void> {
    if (this.closing) return this.exited;
    this.closing = true;
    if (!this.dead) {
      const replied = new Promise<void>((resolve) => (this.closingReply = resolve));
      this.worker.postMessage({ type: 'close', id: 0 } satisfies WorkerRequest);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([replied, timedOut, this.exited]);
      clearTimeout(timer);
    }
    this.failPending(new InferenceWorkerClosedError('inference worker closed before answering'));
    this.dead = true;
    await this.worker.terminate();
    await this.exited;
  }

  private onMessage(m: WorkerReply): void {
    if (m.type === 'closed') {
      this.closingReply?.();
      return;
    }
    if (m.type === 'ready' || m.type === 'initError') return; // handled in start()
    if (m.type === 'detectorError') {
      this.onDetectorError?.(new RemoteInferenceError(m.error));
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return; // request already failed (e.g. rejected during close)
    this.pending.delete(m.id);
    if (m.type === 'error') p.reject(new RemoteInferenceError(m.error));
    else if (m.type === 'batchResult') p.resolve(m.results);
    else p.resolve(m.memory);
  }

  /** First 'error' or 'exit' while not closing: the thread is gone, fail everything in flight. */
  private die(reason: string): void {
    if (this.dead || this.closing) return;
    this.dead = true;
    const err = new WorkerCrashedError(reason);
    this.failPending(err);
    this.onCrash?.(err);
  }

  private failPending(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
