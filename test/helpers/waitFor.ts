/**
 * The one polling wait of the test suite. Tests wait for events and counts, never for fixed
 * sleeps, and give each wait a margin a busy machine cannot exhaust (LOADED_MS): a wait that
 * times out returns false, and the test's own assertion then says what was missing.
 */

/**
 * A wait's budget where the thing waited for takes CPU (a frame through the pipeline, a model
 * load, ICE + DTLS): a few seconds at most on this 2-core machine with two busy loops, so a
 * minute is a margin load cannot exhaust. Test timeouts are several times larger (.mocharc.json: 10 min).
 */
export const LOADED_MS = 60_000;

/** Resolves true once `cond()` holds (polled every `intervalMs`), false after `ms`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, intervalMs = 50): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
