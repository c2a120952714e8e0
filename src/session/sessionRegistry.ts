/**
 * Owns all live sessions: admission (capacity), lookup, and closing them all at shutdown.
 */
import type { Metrics, SessionEndReason } from '../observability/metrics.js';
import { Session, type SessionDeps } from './session.js';

export class ServerFullError extends Error {
  override readonly name = 'ServerFullError';
}

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly endListeners = new Map<string, (reason: SessionEndReason) => void>();

  constructor(private readonly deps: SessionDeps, private readonly maxSessions: number, private readonly metrics: Metrics) {}

  get size(): number {
    return this.sessions.size;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  /** Admit a new session or throw ServerFullError. `onEnd` runs once when it closes, whoever closes it. */
  create(onEnd: (reason: SessionEndReason) => void): Session {
    if (this.sessions.size >= this.maxSessions) {
      this.metrics.sessionsRefused.inc({ reason: 'server_full' });
      throw new ServerFullError(`server is at its capacity of ${this.maxSessions} sessions; retry later`);
    }
    const s = new Session(this.deps, (session, reason) => {
      this.sessions.delete(session.id);
      this.metrics.sessionsActive.set(this.sessions.size);
      this.metrics.sessionsEnded.inc({ reason });
      const l = this.endListeners.get(session.id);
      this.endListeners.delete(session.id);
      l?.(reason);
    });
    this.sessions.set(s.id, s);
    this.endListeners.set(s.id, onEnd);
    this.metrics.sessionsStarted.inc();
    this.metrics.sessionsActive.set(this.sessions.size);
    return s;
  }

  closeAll(reason: SessionEndReason): void {
    for (const s of [...this.sessions.values()]) s.close(reason);
  }
}
