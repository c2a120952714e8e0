/**
 * What a process holds, for leak checks (churn test, soak): resident memory, libuv handles by
 * kind (UDP sockets are `UDPWrap`, TCP `TCPSocketWrap`/`TCPServerWrap`, timers `Timeout`),
 * open file descriptors, worker threads, and the inference worker's tensors.
 */
import { readdirSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';

export interface ResourceSnapshot {
  /** Resident set size, bytes. */
  readonly rssBytes: number;
  /** V8 heap in use, bytes. */
  readonly heapUsedBytes: number;
  /** Memory of ArrayBuffers and Buffers (outside the V8 heap, inside RSS), bytes. */
  readonly arrayBuffersBytes: number;
  /** libuv handles and requests by kind (process.getActiveResourcesInfo()). */
  readonly handles: Readonly<Record<string, number>>;
  /** Open file descriptors (/proc/self/fd; -1 where there is no /proc). */
  readonly fds: number;
}

export function handleCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

export function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

let gcFn: (() => void) | undefined;
/** Runs a full garbage collection (enables --expose-gc at run time if needed), so RSS compares like with like. */
export function fullGc(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
}

export function snapshot(): ResourceSnapshot {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, arrayBuffersBytes: m.arrayBuffers, handles: handleCounts(), fds: openFds() };
}

/** Handle kinds whose count grew from `base` to `now` (kind → [base, now]). */
export function grownHandles(base: Readonly<Record<string, number>>, now: Readonly<Record<string, number>>): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const k of new Set([...Object.keys(base), ...Object.keys(now)])) {
    if ((now[k] ?? 0) > (base[k] ?? 0)) out[k] = [base[k] ?? 0, now[k] ?? 0];
  }
  return out;
}

/** Polls `cond` every 100 ms until it holds or `ms` pass; resolves with its last value. */
export async function settle(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}
