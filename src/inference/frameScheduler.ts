/**
 * Which frame runs next on which inference worker. Pure: no timers, no I/O, time passed in (ms).
 *
 * - Latest frame wins, per session: a session holds at most one waiting frame; a newer one
 *   replaces it and the replaced one is handed back to be counted as dropped (`superseded`).
 *   Frames wait here, not in a worker's message queue, so what runs is always the newest.
 * - Session affinity: a session is pinned to one worker on its first frame (the worker with the
 *   fewest sessions) because its temporal state lives in that worker's engine. A worker runs one
 *   batch at a time, so a session never has two frames in flight and its frames run in order.
 * - Fair: an idle worker serves its sessions in the order they started waiting (a session keeps
 *   its place when a newer frame replaces its waiting one; otherwise a session whose frames keep
 *   superseding each other would always look younger and lose to the others). A session waits
 *   behind at most one turn of each other session: none is starved.
 * - Cross-session batching (maxBatch > 1): a batch holds frames of distinct sessions; a worker
 *   with fewer than maxBatch frames waiting waits until the longest-waiting session has waited
 *   `batchWindowMs` for frames of its other sessions, but only when one of them is expected to
 *   send a frame before then (from its last frame and its measured frame interval): a partner
 *   whose next frame is due later is not worth any wait.
 */

export interface SchedulerOptions {
  /** Inference workers (≥ 1). */
  readonly workers: number;
  /** Frames per batch at most (≥ 1; 1 = no batching). */
  readonly maxBatch: number;
  /** How long the oldest waiting frame may wait for batch partners, ms (0 = never wait). */
  readonly batchWindowMs: number;
}

/** A frame chosen to run. */
export interface Scheduled<F> {
  readonly sessionId: string;
  readonly frame: F;
  /** When it was offered, ms (same clock as the `nowMs` arguments). */
  readonly offeredMs: number;
}

/** What an idle worker should do now. */
export type NextStep<F> =
  /** Run these frames (distinct sessions, longest waiting first) as one batch; the worker is now busy. */
  | { readonly kind: 'run'; readonly batch: readonly Scheduled<F>[] }
  /** Frames are waiting for batch partners: ask again at `untilMs` (or when a frame is offered). */
  | { readonly kind: 'wait'; readonly untilMs: number }
  /** Nothing to do. */
  | { readonly kind: 'idle' };

export class SchedulerError extends Error {
  override readonly name = 'SchedulerError';
}

interface SessionEntry<F> {
  readonly worker: number;
  waiting: { frame: F; offeredMs: number } | undefined;
  /** When the session's slot last went from empty to full, ms: its place in the line. */
  waitingSinceMs: number;
  /** Its last offer, ms, and the smoothed interval between its offers, ms (0 = unknown yet). */
  lastOfferMs: number;
  intervalMs: number;
}

/** Weight of the newest interval in the smoothed frame interval. */
const INTERVAL_GAIN = 0.125;

export class FrameScheduler<F> {
  private readonly sessions = new Map<string, SessionEntry<F>>();
  /** Session ids pinned to each worker, in pinning order. */
  private readonly pinned: Set<string>[];
  private readonly busy: boolean[];
  private waitingTotal = 0;

  constructor(private readonly opts: SchedulerOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new SchedulerError(`workers must be an integer ≥ 1, got ${opts.workers}`);
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new SchedulerError(`maxBatch must be an integer ≥ 1, got ${opts.maxBatch}`);
    if (!(opts.batchWindowMs >= 0)) throw new SchedulerError(`batchWindowMs must be ≥ 0, got ${opts.batchWindowMs}`);
    this.pinned = Array.from({ length: opts.workers }, () => new Set<string>());
    this.busy = new Array<boolean>(opts.workers).fill(false);
  }

  get workers(): number {
    return this.opts.workers;
  }

  /** Frames waiting over all sessions (never more than one per session). */
  get waitingFrames(): number {
    return this.waitingTotal;
  }

  /** The worker a session is pinned to, if it has offered a frame and not closed. */
  workerOf(sessionId: string): number | undefined {
    return this.sessions.get(sessionId)?.worker;
  }

  /** Sessions pinned to a worker (whose temporal state lives there). */
  sessionsOn(worker: number): string[] {
    return [...(this.pinned[worker] ?? [])];
  }

  /** Frames the session has waiting: 0 or 1. */
  waitingOf(sessionId: string): number {
    return this.sessions.get(sessionId)?.waiting ? 1 : 0;
  }

  isBusy(worker: number): boolean {
    return this.busy[worker] ?? false;
  }

  /**
   * Offer a session's newest frame. Pins the session on its first frame. Returns the worker
   * that will run it and the frame it replaced, if one was waiting (drop it as superseded).
   */
  offer(sessionId: string, frame: F, nowMs: number): { worker: number; superseded?: F } {
    let s = this.sessions.get(sessionId);
    if (!s) {
      s = { worker: this.leastLoadedWorker(), waiting: undefined, waitingSinceMs: nowMs, lastOfferMs: nowMs, intervalMs: 0 };
      this.sessions.set(sessionId, s);
      this.pinned[s.worker]!.add(sessionId);
    } else {
      const dt = nowMs - s.lastOfferMs;
      s.intervalMs = s.intervalMs === 0 ? dt : s.intervalMs + INTERVAL_GAIN * (dt - s.intervalMs);
      s.lastOfferMs = nowMs;
    }
    const old = s.waiting;
    s.waiting = { frame, offeredMs: nowMs };
    if (!old) {
      this.waitingTotal++;
      s.waitingSinceMs = nowMs;
    }
    return old ? { worker: s.worker, superseded: old.frame } : { worker: s.worker };
  }

  /**
   * What idle `worker` should do at `nowMs`. A `run` marks it busy until done(worker).
   * Asking a busy worker is a caller bug (SchedulerError).
   */
  next(worker: number, nowMs: number): NextStep<F> {
    if (this.busy[worker] === undefined) throw new SchedulerError(`no worker ${worker} (have ${this.opts.workers})`);
    if (this.busy[worker]) throw new SchedulerError(`worker ${worker} is still running a batch; call done(${worker}) first`);
    const ready: { id: string; s: SessionEntry<F> }[] = [];
    for (const id of this.pinned[worker]!) {
      const s = this.sessions.get(id)!;
      if (s.waiting) ready.push({ id, s });
    }
    if (ready.length === 0) return { kind: 'idle' };
    ready.sort((a, b) => a.s.waitingSinceMs - b.s.waitingSinceMs);
    const { maxBatch, batchWindowMs } = this.opts;
    if (maxBatch > 1 && batchWindowMs > 0 && ready.length < maxBatch) {
      const deadline = ready[0]!.s.waitingSinceMs + batchWindowMs;
      if (nowMs < deadline && this.partnerDueBefore(worker, deadline)) return { kind: 'wait', untilMs: deadline };
    }
    const batch = ready.slice(0, maxBatch).map(({ id, s }) => {
      const w = s.waiting!;
      s.waiting = undefined;
      this.waitingTotal--;
      return { sessionId: id, frame: w.frame, offeredMs: w.offeredMs };
    });
    this.busy[worker] = true;
    return { kind: 'run', batch };
  }

  /** The worker finished (or failed) its batch and is idle again. */
  done(worker: number): void {
    if (this.busy[worker] === undefined) throw new SchedulerError(`no worker ${worker} (have ${this.opts.workers})`);
    this.busy[worker] = false;
  }

  /** The session ended: unpin it and hand back its waiting frame (drop it as closed), if any. */
  close(sessionId: string): F | undefined {
    const s = this.sessions.get(sessionId);
    if (!s) return undefined;
    this.sessions.delete(sessionId);
    this.pinned[s.worker]!.delete(sessionId);
    if (!s.waiting) return undefined;
    this.waitingTotal--;
    return s.waiting.frame;
  }

  /** Hands back and forgets every waiting frame of a worker's sessions (e.g. it cannot restart). */
  takeWaiting(worker: number): F[] {
    const out: F[] = [];
    for (const id of this.pinned[worker] ?? []) {
      const s = this.sessions.get(id)!;
      if (!s.waiting) continue;
      out.push(s.waiting.frame);
      s.waiting = undefined;
      this.waitingTotal--;
    }
    return out;
  }

  /** Whether a session of `worker` with nothing waiting is expected to offer a frame before `deadline`. */
  private partnerDueBefore(worker: number, deadline: number): boolean {
    for (const id of this.pinned[worker]!) {
      const s = this.sessions.get(id)!;
      if (s.waiting) continue;
      // No interval yet (one frame so far): it may come any time.
      if (s.intervalMs === 0 || s.lastOfferMs + s.intervalMs <= deadline) return true;
    }
    return false;
  }

  private leastLoadedWorker(): number {
    let best = 0;
    for (let w = 1; w < this.pinned.length; w++) if (this.pinned[w]!.size < this.pinned[best]!.size) best = w;
    return best;
  }
}
