/**
 * `window.__maskstream`: read-only state for tests and debugging, plus collection of page
 * errors (uncaught exceptions, unhandled rejections and errors the client reports itself).
 */

import type { MaskTimings } from '../src/shared/maskCodec.js';

export interface MaskstreamHooks {
  state: string;
  masksReceived: number;
  /** Recent mask arrival times, performance.now() ms (bounded). */
  maskTimes: number[];
  /** The server's sequence number of each of those masks (frames it took in, masked or not). */
  maskSeqs: number[];
  /** The session's dropped-frame count carried by each of those masks. */
  maskDropped: number[];
  lastTimings: MaskTimings | null;
  /** Latest capture → mask received, ms. */
  e2eMs: number | null;
  errors: string[];
  /** Masks whose source frame was found in the local queue. */
  matched: number;
  unmatched: number;
  /** Latest misalignment of a composited frame, ms. */
  misalignmentMs: number | null;
  mapping: Record<string, unknown>;
  sessionId: string | null;
  /**
   * The mask on screen: its message (base64) and the SHA-256 (hex) of the alpha the page composed
   * from it at width × height, so a test can compose the same message itself and compare.
   */
  snapshotMask?: () => Promise<{ message: string; sha256: string; width: number; height: number } | null>;
}

declare global {
  interface Window {
    __maskstream: MaskstreamHooks;
  }
}

export const MAX_ERRORS = 100;
export const MAX_MASK_TIMES = 600;

export function installHooks(): MaskstreamHooks {
  const hooks: MaskstreamHooks = {
    state: 'idle',
    masksReceived: 0,
    maskTimes: [],
    maskSeqs: [],
    maskDropped: [],
    lastTimings: null,
    e2eMs: null,
    errors: [],
    matched: 0,
    unmatched: 0,
    misalignmentMs: null,
    mapping: {},
    sessionId: null,
  };
  window.__maskstream = hooks;
  window.addEventListener('error', (ev) => recordError(hooks, `uncaught: ${ev.message}${ev.filename ? ` (${ev.filename}:${ev.lineno})` : ''}`));
  window.addEventListener('unhandledrejection', (ev) => recordError(hooks, `unhandled rejection: ${describe(ev.reason)}`));
  return hooks;
}

export function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

export function recordError(hooks: MaskstreamHooks, message: string): void {
  hooks.errors.push(message);
  if (hooks.errors.length > MAX_ERRORS) hooks.errors.splice(0, hooks.errors.length - MAX_ERRORS);
}
