/**
 * Per-client-IP admission limits for new sessions, shared by WebSocket signaling and WHIP:
 * a creation rate (token bucket: `perMinute` sessions, refilled evenly over a minute, so a
 * burst of up to `perMinute` is allowed after a quiet minute) and a number of concurrent
 * sessions. Pure: time comes in through `now`.
 *
 * Bounded: one small entry per IP with live sessions or a partly spent bucket; entries whose
 * bucket is full again and that hold no session are dropped, and past MAX_TRACKED_IPS the
 * oldest idle ones go first.
 */
import type { IncomingMessage } from 'node:http';

export interface IpLimitOptions {
  /** Concurrent sessions per IP; 0 = no limit. */
  readonly maxConcurrent: number;
  /** New sessions per IP per minute; 0 = no limit. */
  readonly perMinute: number;
  /** Clock, ms. */
  readonly now?: () => number;
}

export type IpAdmission =
  | { readonly ok: true; /** Call once when the session ends. */ release(): void }
  | { readonly ok: false; readonly reason: 'rate_limited' | 'ip_limit'; /** When a retry can succeed, s (≥ 1). */ readonly retryAfterS: number; readonly message: string };

interface Entry {
  tokens: number;
  updatedMs: number;
  active: number;
}

/** IPs tracked at most; past it idle entries are evicted (an attacker's spoofed set cannot grow memory). */
export const MAX_TRACKED_IPS = 100_000;

export class IpLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly opts: IpLimitOptions) {
    this.now = opts.now ?? Date.now;
  }

  get trackedIps(): number {
    return this.entries.size;
  }

  /** Admits one new session from `ip`, or says why not and when to retry. */
  admit(ip: string): IpAdmission {
    const { maxConcurrent, perMinute } = this.opts;
    const now = this.now();
    const e = this.entry(ip, now);
    if (maxConcurrent > 0 && e.active >= maxConcurrent) {
      return { ok: false, reason: 'ip_limit', retryAfterS: 5, message: `this address already has ${e.active} sessions (the per-address limit); end one first` };
    }
    if (perMinute > 0) {
      if (e.tokens < 1) {
        const retryAfterS = Math.max(1, Math.ceil(((1 - e.tokens) * 60_000) / perMinute / 1000));
        return { ok: false, reason: 'rate_limited', retryAfterS, message: `too many new sessions from this address (limit ${perMinute} a minute); retry in ${retryAfterS} s` };
      }
      e.tokens -= 1;
    }
    e.active++;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        e.active--;
        this.prune(ip, e, this.now());
      },
    };
  }

  private entry(ip: string, now: number): Entry {
    let e = this.entries.get(ip);
    if (!e) {
      if (this.entries.size >= MAX_TRACKED_IPS) this.evictIdle();
      e = { tokens: this.opts.perMinute, updatedMs: now, active: 0 };
      this.entries.set(ip, e);
      return e;
    }
    const perMinute = this.opts.perMinute;
    e.tokens = Math.min(perMinute, e.tokens + ((now - e.updatedMs) * perMinute) / 60_000);
    e.updatedMs = now;
    return e;
  }

  private prune(ip: string, e: Entry, now: number): void {
    const refilled = Math.min(this.opts.perMinute, e.tokens + ((now - e.updatedMs) * this.opts.perMinute) / 60_000);
    if (e.active === 0 && refilled >= this.opts.perMinute && this.entries.get(ip) === e) this.entries.delete(ip);
  }

  /** Drops idle entries, oldest first (Map order), down to 90 % of the cap. */
  private evictIdle(): void {
    for (const [ip, e] of this.entries) {
      if (e.active === 0) this.entries.delete(ip);
      if (this.entries.size < MAX_TRACKED_IPS * 0.9) break;
    }
  }
}

/** `::ffff:1.2.3.4` → `1.2.3.4`, so one client is one key whichever socket family it came in on. */
function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/**
 * The client's address: the TCP peer, or — behind `trustProxyHops` reverse proxies that each
 * append to X-Forwarded-For — the entry the outermost trusted proxy appended. Entries further
 * left are client-supplied and never trusted.
 */
export function clientIp(req: IncomingMessage, trustProxyHops: number): string {
  const peer = normalizeIp(req.socket.remoteAddress ?? 'unknown');
  if (trustProxyHops <= 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const raw = Array.isArray(header) ? header.join(',') : header;
  if (!raw) return peer;
  const hops = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (hops.length === 0) return peer;
  return normalizeIp(hops[Math.max(0, hops.length - trustProxyHops)]!);
}
