/**
 * Latest-frame-wins hand-off between the decoder and the (slower, shared) inference
 * engine for one session: at most one frame in flight and at most one waiting. A frame
 * that arrives while another waits replaces it; the replaced one is returned so the
 * caller counts it as dropped ('superseded'). Pure: no timers, no I/O.
 */
export class LatestFrameSlot<T> {
  private waiting: T | undefined;
  private busy = false;
  private closed = false;

  /**
   * Offer a frame. Returns `{ run }` when the caller should start processing it now,
   * or `{ superseded }` with the frame that was waiting and is now dropped (if any).
   */
  offer(item: T): { run?: T; superseded?: T } {
    if (this.closed) return { superseded: item };
    if (!this.busy) {
      this.busy = true;
      return { run: item };
    }
    const superseded = this.waiting;
    this.waiting = item;
    return superseded === undefined ? {} : { superseded };
  }

  /** The in-flight frame finished; returns the next frame to run, if one waits. */
  done(): T | undefined {
    if (this.closed) {
      this.busy = false;
      return undefined;
    }
    const next = this.waiting;
    this.waiting = undefined;
    this.busy = next !== undefined;
    return next;
  }

  /** Frames currently held (in flight + waiting): never more than 2. */
  get depth(): number {
    return (this.busy ? 1 : 0) + (this.waiting !== undefined ? 1 : 0);
  }

  get waitingCount(): number {
    return this.waiting !== undefined ? 1 : 0;
  }

  /** Stop accepting; returns the waiting frame (dropped by the caller), if any. */
  close(): T | undefined {
    this.closed = true;
    const w = this.waiting;
    this.waiting = undefined;
    return w;
  }
}
