/**
 * A typed event emitter for the server's own objects (workers, the pool, the session
 * registry): listeners by event name, each called in order on emit(). A listener that throws
 * does not stop the others nor the emitter's own work after emit() (a crashed worker is still
 * restarted when a crash listener throws): the error goes to `onListenerError`.
 */
export type EventMap = Record<string, readonly unknown[]>;

export class Emitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Set<(...args: E[keyof E]) => void>>();

  /** @param onListenerError where a throwing listener's error goes (default: console.error). */
  constructor(private readonly onListenerError: (error: unknown, event: keyof E) => void = (e, event) => console.error(`listener of "${String(event)}" threw:`, e)) {}

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const l = listener as (...args: E[keyof E]) => void;
    set.add(l);
    return () => {
      set!.delete(l);
    };
  }

  /** Calls every listener of `event` with `args`, each isolated from the others' errors. */
  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        (l as (...a: E[K]) => void)(...args);
      } catch (e) {
        this.onListenerError(e, event);
      }
    }
  }

  /** Listeners of `event` now (tests, leak checks). */
  count(event: keyof E): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  /** Removes every listener. */
  clear(): void {
    this.listeners.clear();
  }
}
