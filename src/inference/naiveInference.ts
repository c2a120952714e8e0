/**
 * The naive pipeline, for the load benchmark's baseline only (config pipelineMode `naive`):
 * one engine on the main thread, every frame of every session in one first-in-first-out
 * queue, nothing ever dropped. Preprocessing and inference run on the event loop that also
 * carries RTP and the data channels (one frame per turn of the loop, so I/O gets in between).
 * When frames arrive faster than the engine runs, the queue and the latency grow without bound:
 * that is what the benchmark shows. Same InferencePort as InferencePool.
 */
import { SegmentationEngine, type EngineMemory } from './engine.js';
import { unpackI420 } from './packedI420.js';
import type { BackendAttempt, EngineInfo, EngineOptions, InferenceInput, InferenceOutcome } from './types.js';
import { InferenceWorkerClosedError } from './inferenceWorker.js';

interface FrameJob {
  readonly kind: 'frame';
  readonly sessionId: string;
  readonly input: InferenceInput;
  readonly offeredMs: number;
  resolve(o: InferenceOutcome): void;
  reject(e: Error): void;
}
/** Frees a session's temporal state once its frames queued before it have run. */
interface CloseJob {
  readonly kind: 'close';
  readonly sessionId: string;
}
type Job = FrameJob | CloseJob;

export class NaiveInference {
  private readonly queue: Job[] = [];
  private head = 0;
  private scheduled = false;
  private closed = false;

  private constructor(private readonly engine: SegmentationEngine) {}

  static async start(opts: EngineOptions): Promise<NaiveInference> {
    return new NaiveInference(await SegmentationEngine.create({ ...opts, maxBatch: 1 }));
  }

  get info(): EngineInfo {
    return this.engine.info;
  }

  get backendAttempts(): readonly BackendAttempt[] {
    return this.engine.backendAttempts;
  }

  /** The main thread, not a worker. */
  get workers(): number {
    return 1;
  }

  get maxBatch(): number {
    return 1;
  }

  get restarts(): number {
    return 0;
  }

  /** Frames queued and not yet run, over all sessions (unbounded). */
  get waitingFrames(): number {
    return this.queue.length - this.head;
  }

  submit(sessionId: string, input: InferenceInput): Promise<InferenceOutcome> {
    if (this.closed) return Promise.reject(new InferenceWorkerClosedError('naive inference is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'frame', sessionId, input, offeredMs: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /**
   * Frees the session's temporal state after its queued frames (FIFO, nothing dropped: they
   * still run, and the closed session counts their masks as dropped `closed`).
   */
  closeSession(sessionId: string): void {
    if (this.closed) return;
    this.queue.push({ kind: 'close', sessionId });
    this.schedule();
  }

  async memory(): Promise<EngineMemory> {
    return this.engine.memory();
  }

  onRestart(): void {}
  onCrash(): void {}
  onSessionsReset(): void {}

  onDetectorError(): void {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const j of this.queue.splice(0).slice(this.head)) if (j.kind === 'frame') j.resolve({ kind: 'dropped', reason: 'closed' });
    this.head = 0;
    this.engine.close();
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => this.step());
  }

  /** Runs one job, then yields to I/O before the next. */
  private step(): void {
    this.scheduled = false;
    if (this.closed || this.head >= this.queue.length) return;
    const job = this.queue[this.head++]!;
    // Compact now and then, so the array does not keep every frame ever queued.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (job.kind === 'close') {
      this.engine.closeSession(job.sessionId);
    } else {
      const started = performance.now();
      try {
        if (!this.engine.hasSession(job.sessionId)) this.engine.openSession(job.sessionId);
        // The same per-frame work as the pool's workers (the region of interest's views + RGB, the engine).
        const result = job.input.i420 ? this.engine.segment(job.sessionId, unpackI420(job.input.i420)) : this.engine.process(job.sessionId, job.input.rgb!);
        job.resolve({ kind: 'mask', result, queueMs: started - job.offeredMs, roundTripMs: performance.now() - started });
      } catch (e) {
        job.reject(e as Error);
      }
    }
    this.schedule();
  }
}
