/**
 * Owns all live sessions: admission (capacity, measured inference load, draining), lookup, and
 * closing them all at shutdown. Both signaling adapters (WebSocket, WHIP) create sessions here.
 */
import { Emitter } from '../shared/events.js';
import type { Metrics, SessionEndReason, SignalingKind } from '../observability/metrics.js';
import { Session, type SessionDeps } from './session.js';
import type { AdmissionVerdict, LoadEstimate } from './admission.js';

/** No room for another session right now; retry later (or on another instance). */
export class ServerFullError extends Error {
  override readonly name: string = 'ServerFullError';
}

/** The server is draining (shutting down): it admits no new session; retry on another instance. */
export class ServerDrainingError extends ServerFullError {
  override readonly name: string = 'ServerDrainingError';
}

/**
 * The inference pool is too busy to keep its sessions at their frame rate with one more
 * (load-based admission, admission.ts). Answered like full: WebSocket `server_full` with a
 * retry hint, WHIP 503 + Retry-After.
 */
export class ServerOverloadedError extends ServerFullError {
  override readonly name: string = 'ServerOverloadedError';
}

/** Decides on the measured load whether one more session fits (see admission.ts). */
export type AdmissionCheck = (estimate: LoadEstimate) => AdmissionVerdict;

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  /** ended: a session (id, why); empty: the last session ended. Listeners are isolated from each other's errors. */
  private readonly events = new Emitter<{ ended: [string, SessionEndReason]; empty: [] }>();
  private drainingSince: number | undefined;

  /**
   * @param admission load-based admission: the check and the current utilization (0..1 of the
   *   inference pool's capacity); absent = session count only.
   */
  constructor(
    private readonly deps: SessionDeps,
    private readonly maxSessions: number,
    private readonly metrics: Metrics,
    private readonly admission?: { readonly check: AdmissionCheck; readonly utilization: () => number },
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  get capacity(): number {
    return this.maxSessions;
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Whether a new session would be admitted now (what /readyz reports). */
  get admitting(): boolean {
    return !this.draining && this.sessions.size < this.maxSessions && (this.loadVerdict()?.admit ?? true);
  }

  /** The inference load as admission sees it: utilization and the sessions it reflects. */
  loadEstimate(utilization: number): LoadEstimate {
    let measured = 0;
    for (const s of this.sessions.values()) if (s.stats.processed > 0) measured++;
    return { utilization, measuredSessions: measured, pendingSessions: this.sessions.size - measured };
  }

  private loadVerdict(): AdmissionVerdict | undefined {
    const a = this.admission;
    return a ? a.check(this.loadEstimate(a.utilization())) : undefined;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  /**
   * Admit a new session or throw ServerFullError (ServerDrainingError while draining).
   * `onEnd` runs once when it closes, whoever closes it.
   */
  create(onEnd: (reason: SessionEndReason) => void, signaling: SignalingKind = 'ws'): Session {
    if (this.draining) {
      this.metrics.refuse('draining');
      throw new ServerDrainingError('server is shutting down and admits no new sessions; retry (another instance will answer)');
    }
    if (this.sessions.size >= this.maxSessions) {
      this.metrics.refuse('server_full');
      throw new ServerFullError(`server is at its capacity of ${this.maxSessions} sessions; retry later`);
    }
    const verdict = this.loadVerdict();
    if (verdict && !verdict.admit) {
      this.metrics.refuse('server_full');
      throw new ServerOverloadedError(verdict.message);
    }
    const s = new Session(this.deps, (session, reason) => {
      this.sessions.delete(session.id);
      this.metrics.sessionsActive.set(this.sessions.size);
      this.metrics.sessionsEnded.inc({ reason });
      this.events.emit('ended', session.id, reason);
      if (this.sessions.size === 0) this.events.emit('empty');
    }, signaling);
    this.sessions.set(s.id, s);
    const off = this.events.on('ended', (id, reason) => {
      if (id !== s.id) return;
      off();
      onEnd(reason);
    });
    this.metrics.sessionsStarted.inc({ signaling });
    this.metrics.sessionsActive.set(this.sessions.size);
    return s;
  }

  /** Stop admitting sessions (idempotent); live ones go on. */
  startDraining(): void {
    if (this.draining) return;
    this.drainingSince = Date.now();
    this.metrics.draining.set(1);
  }

  /** Resolves once no session is open (at once if none is). */
  whenEmpty(): Promise<void> {
    if (this.sessions.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.events.on('empty', () => {
        off();
        resolve();
      });
    });
  }

  closeAll(reason: SessionEndReason): void {
    for (const s of [...this.sessions.values()]) s.close(reason);
  }
}
