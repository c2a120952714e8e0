/**
 * The one place configuration is read: environment variables and CLI flags with the
 * same names (MASKSTREAM_PORT=9000 ≡ --port 9000). Validated, filled with defaults into
 * a frozen copy. Every field documents its unit; README "Configuration" mirrors this table.
 */
import { BACKENDS, type BackendName, type ModelName } from './inference/types.js';
import { TEMPORAL_MODES, type TemporalMode } from './temporal/temporalConfig.js';
import { DEFAULT_ROI, type RoiOptions } from './roi/roiTracker.js';

export interface Config {
  /** HTTP/WebSocket port; 0 picks a free port. Environment: MASKSTREAM_PORT, else PORT (what most platforms set). */
  readonly port: number;
  /** Address to listen on. */
  readonly host: string;
  /** Segmentation model. */
  readonly model: ModelName;
  /**
   * Inference backend: ort-cpu / ort-webgpu / ort-cuda (ONNX Runtime with that execution
   * provider), or the TF.js backends tensorflow-gpu, tensorflow, wasm, cpu. auto = the first
   * that starts of ort-cuda → ort-webgpu → tensorflow-gpu → ort-cpu → tensorflow → wasm → cpu
   * (GPU providers only where a GPU device exists).
   */
  readonly backend: 'auto' | BackendName;
  /**
   * ONNX Runtime intra-op threads per inference worker on the CPU provider; 0 = one per core.
   * 1: the worker pool is the parallelism (measured: docs/performance.md).
   */
  readonly ortThreads: number;
  /**
   * Temporal stage: none (per-frame), ema, attention (non-parametric read of the feature ring
   * buffer), attention-learned (that read fused by the trained gate, models/temporal-fusion.json),
   * attention-fine (pixel-level attention over the previous frame, src/temporal/stages/fineAttention.ts).
   * Default attention-fine: the best J, TE and dtSSD of `npm run bench:quality` (docs/temporal.md).
   */
  readonly temporal: TemporalMode;
  /**
   * Frames kept in each session's feature ring buffer of attention / attention-learned (4: what
   * the fusion head was trained with; 8 costs 2× the read for +0.005 J). attention-fine keeps one
   * frame (its read is recursive) and ignores this.
   */
  readonly ringSize: number;
  /**
   * Region of interest: on = segment each frame on a crop around where the session's last mask
   * found people (src/roi/, measured in `npm run bench:quality`), off = always the whole picture.
   */
  readonly roi: 'on' | 'off';
  /** With roi on: the whole picture is segmented every this many frames so people entering elsewhere are found; 0 = only when nobody is tracked. */
  readonly roiRefreshFrames: number;
  /**
   * With roi on: the person detector that proposes people to crop (small and far ones the
   * segmenter misses on the whole picture), run every roiDetectEvery frames; none = the
   * segmenter's own prediction only (docs/temporal.md, "Several people").
   */
  readonly roiDetector: 'movenet-multipose' | 'none';
  /** With roi on and a detector: it runs on every this many frames, between frames. */
  readonly roiDetectEvery: number;
  /**
   * With roi on and a detector: a second model for people the detector sees and the mask leaves
   * out (RoiOptions.secondModel); none = meet alone (docs/temporal.md, "A second opinion").
   */
  readonly roiSecondModel: 'selfie' | 'none';
  /** Concurrent sessions admitted; more are refused with `server_full`. */
  readonly maxSessions: number;
  /**
   * Inference threads, one engine (model copy, ≈ 0.4 MB of weights) each; 0 = by backend:
   * tensorflow/tensorflow-gpu 1, wasm/cpu one per core (measured: docs/performance.md).
   */
  readonly inferenceWorkers: number;
  /**
   * Largest cross-session batch one worker runs as one backbone execution; 1 = no batching,
   * 0 = by backend (tensorflow-gpu 8, tensorflow 4, wasm/cpu 1: measured not to pay on wasm).
   */
  readonly maxBatch: number;
  /** How long a frame may wait for frames of other sessions to batch with, ms (only when batching). */
  readonly batchWindowMs: number;
  /**
   * Load-based admission: a new session is refused (`server_full`, WHIP 503) when the inference
   * utilization of the last 10 s, scaled up by one more session of the same average cost,
   * would exceed this share of the pool's capacity, 0..1; 0 = only maxSessions applies.
   */
  readonly admissionMaxLoad: number;
  /**
   * `pool` (the design: worker threads, latest frame wins) or `naive` (one engine on the main
   * thread, first-in-first-out, nothing dropped): the load benchmark's baseline, never for service.
   */
  readonly pipelineMode: 'pool' | 'naive';
  /** STUN/TURN servers for the server's ICE agent, comma-separated URLs; empty = host candidates only. */
  readonly iceServers: readonly string[];
  /** Restrict the server's ICE UDP ports, "min-max"; empty = any port. */
  readonly icePortRange: readonly [number, number] | null;
  /** Time to wait for ICE + DTLS to connect after the answer, ms. */
  readonly connectTimeoutMs: number;
  /** A connected session that receives no RTP for this long is ended, ms. */
  readonly mediaTimeoutMs: number;
  /** How long the reorder buffer waits for a missing packet (NACK/RTX) before giving up, ms. */
  readonly reorderWaitMs: number;
  /** Data-channel backlog above which a mask is dropped instead of queued, bytes. */
  readonly maxBufferedBytes: number;
  /** Largest accepted video frame, px (width × height). */
  readonly maxFramePixels: number;
  /** Log level. */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /**
   * Bearer token required on WHIP requests and on mask subscriptions; empty = no auth.
   * A secret: set it through the environment (a Kubernetes Secret), not a flag (visible in `ps`).
   */
  readonly whipToken: string;
  /**
   * This instance's own externally reachable base URL (scheme://host[:port][/prefix]), used in
   * WHIP `Location` headers (subscribers derive the mask URL from the same base) so later requests of a session reach the
   * pod that holds it; empty = relative URLs (one instance, or sticky routing in front).
   */
  readonly publicUrl: string;
  /** STUN/TURN URLs offered to WHIP clients in `Link: rel="ice-server"` headers; empty = none. */
  readonly clientIceServers: readonly string[];
  /** TURN username sent with the turn:/turns: URLs of clientIceServers (static TURN auth). */
  readonly clientIceUsername: string;
  /** TURN credential sent with the turn:/turns: URLs of clientIceServers. A secret. */
  readonly clientIceCredential: string;
  /** Origins allowed to call the WHIP endpoint from a browser (CORS), comma-separated; `*` = any. */
  readonly corsAllowOrigins: readonly string[];
  /** Mask subscriber sockets (`GET /sessions/{id}/masks`) per session; more are refused with 429. */
  readonly maxMaskSubscribers: number;
  /** After SIGTERM, how long live sessions may go on before they are closed, ms. */
  readonly drainTimeoutMs: number;
  /** End-to-end latency objective (capture → mask received), ms; a histogram bucket sits exactly here. */
  readonly latencySloMs: number;
  /**
   * Static bearer tokens with full access (any endpoint, any session); empty = none. When this
   * or authSecret is set, WebSocket signaling, WHIP and mask subscriptions all need a token.
   * Secrets: set them through the environment, not flags.
   */
  readonly authTokens: readonly string[];
  /** HMAC-SHA256 secret for signed, expiring tokens (src/signaling/auth.ts); empty = not accepted. A secret. */
  readonly authSecret: string;
  /** Origins whose pages may open the WebSocket endpoints (/signal, masks); empty = same origin as the Host header; `*` = any. */
  readonly wsAllowOrigins: readonly string[];
  /** Concurrent sessions one client IP may hold; 0 = no per-IP limit. */
  readonly ipMaxSessions: number;
  /** New sessions one client IP may start per minute (token bucket); 0 = no limit. */
  readonly ipSessionsPerMinute: number;
  /** Reverse proxies in front of the server that append X-Forwarded-For; 0 = use the TCP peer address. */
  readonly trustProxyHops: number;
}

export const DEFAULTS: Config = Object.freeze({
  port: 8080,
  host: '0.0.0.0',
  model: 'meet',
  backend: 'auto',
  ortThreads: 1,
  temporal: 'attention-fine',
  ringSize: 4,
  roi: 'on',
  roiRefreshFrames: 10,
  roiDetector: 'movenet-multipose',
  roiDetectEvery: 5,
  roiSecondModel: 'selfie',
  maxSessions: 4,
  inferenceWorkers: 0,
  maxBatch: 0,
  batchWindowMs: 4,
  admissionMaxLoad: 0.9,
  pipelineMode: 'pool',
  iceServers: [],
  icePortRange: null,
  connectTimeoutMs: 15_000,
  mediaTimeoutMs: 10_000,
  reorderWaitMs: 60,
  maxBufferedBytes: 256 * 1024,
  maxFramePixels: 1920 * 1088,
  logLevel: 'info',
  whipToken: '',
  publicUrl: '',
  clientIceServers: [],
  clientIceUsername: '',
  clientIceCredential: '',
  corsAllowOrigins: ['*'],
  maxMaskSubscribers: 4,
  drainTimeoutMs: 60_000,
  latencySloMs: 100,
  authTokens: [],
  authSecret: '',
  wsAllowOrigins: [],
  ipMaxSessions: 8,
  ipSessionsPerMinute: 60,
  trustProxyHops: 0,
} satisfies Config);

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

interface FieldSpec {
  readonly env: string;
  readonly flag: string;
  /** One line for `serve --help` and the README: what it does, or its values. */
  readonly help: string;
  /** Unit of a numeric value (ms, px, bytes, frames, …), shown after the default. */
  readonly unit?: string;
  parse(raw: string): unknown;
}

function int(min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`must be an integer in [${min}, ${max}], got "${raw}"`);
    return n;
  };
}
function fraction(min: number, max: number) {
  return (raw: string): number => {
    const n = raw.trim() === '' ? NaN : Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(`must be a number in [${min}, ${max}], got "${raw}"`);
    return n;
  };
}
function oneOf<T extends string>(...values: T[]) {
  return (raw: string): T => {
    if (!(values as string[]).includes(raw)) throw new ConfigError(`must be one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  };
}

function iceUrls(raw: string): string[] {
  const urls = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const u of urls) if (!/^(stun|turns?):[^\s,;<>"]+$/.test(u)) throw new ConfigError(`"${u}" is not a stun:/turn:/turns: URL`);
  return urls;
}

/** Printable ASCII without spaces, quotes, commas or semicolons: safe inside an HTTP header parameter. */
function headerSafe(what: string, maxLength: number) {
  return (raw: string): string => {
    if (raw.length > maxLength) throw new ConfigError(`${what} must be at most ${maxLength} characters`);
    if (!/^[\x21-\x7e]*$/.test(raw) || /[",;\\]/.test(raw)) throw new ConfigError(`${what} must be printable ASCII without spaces, quotes, commas, semicolons or backslashes`);
    return raw;
  };
}

const FIELDS: { [K in keyof Config]: FieldSpec } = {
  port: { env: 'MASKSTREAM_PORT', flag: 'port', help: 'HTTP + WebSocket port (0 = any free port)', parse: int(0, 65535) },
  host: { env: 'MASKSTREAM_HOST', flag: 'host', help: 'address to listen on', parse: (r) => { if (!r) throw new ConfigError('must not be empty'); return r; } },
  model: { env: 'MASKSTREAM_MODEL', flag: 'model', help: 'segmentation model: meet (256×144) or selfie (256×256)', parse: oneOf<ModelName>('meet', 'selfie') },
  backend: { env: 'MASKSTREAM_BACKEND', flag: 'backend', help: 'inference backend: auto (ort-cuda → ort-webgpu → tensorflow-gpu → ort-cpu → tensorflow → wasm → cpu; GPUs only where a GPU device exists), or one of them: ort-* = ONNX Runtime with that execution provider', parse: oneOf<'auto' | BackendName>('auto', ...BACKENDS) },
  ortThreads: { env: 'MASKSTREAM_ORT_THREADS', flag: 'ort-threads', help: 'ONNX Runtime intra-op threads per inference worker on the CPU provider (0 = one per core)', unit: 'threads', parse: int(0, 64) },
  temporal: { env: 'MASKSTREAM_TEMPORAL', flag: 'temporal', help: 'temporal stage: none, ema, attention, attention-learned or attention-fine', parse: oneOf<TemporalMode>(...TEMPORAL_MODES) },
  ringSize: { env: 'MASKSTREAM_RING_SIZE', flag: 'ring-size', help: "frames in each session's feature ring buffer of attention and attention-learned (1–64)", unit: 'frames', parse: int(1, 64) },
  roi: { env: 'MASKSTREAM_ROI', flag: 'roi', help: 'on: segment on a crop around where the last mask found people; off: the whole picture', parse: oneOf('on', 'off') },
  roiRefreshFrames: { env: 'MASKSTREAM_ROI_REFRESH_FRAMES', flag: 'roi-refresh-frames', help: 'with roi on, also look at the whole picture every N frames so newcomers are found (0 = only when nobody is tracked)', unit: 'frames', parse: int(0, 3600) },
  roiDetector: { env: 'MASKSTREAM_ROI_DETECTOR', flag: 'roi-detector', help: 'with roi on, the person detector that proposes people to crop: movenet-multipose or none', parse: oneOf('movenet-multipose', 'none') },
  roiDetectEvery: { env: 'MASKSTREAM_ROI_DETECT_EVERY', flag: 'roi-detect-every', help: 'with roi on and a detector, run it on every Nth frame, between frames (fewer: people stepping in are found sooner; each run ≈ 17 ms of a CPU worker)', unit: 'frames', parse: int(1, 600) },
  roiSecondModel: { env: 'MASKSTREAM_ROI_SECOND_MODEL', flag: 'roi-second-model', help: 'with roi on and a detector, a second model (selfie) also segments the crops of people the detector sees and the mask leaves out, or none', parse: oneOf('selfie', 'none') },
  maxSessions: { env: 'MASKSTREAM_MAX_SESSIONS', flag: 'max-sessions', help: 'concurrent sessions admitted; more are refused with server_full', unit: 'sessions', parse: int(1, 1000) },
  inferenceWorkers: { env: 'MASKSTREAM_INFERENCE_WORKERS', flag: 'inference-workers', help: 'inference threads; 0 = auto: one per core on CPU backends, half the cores on ort GPU providers, 1 on tensorflow(-gpu)', unit: 'threads', parse: int(0, 64) },
  maxBatch: { env: 'MASKSTREAM_MAX_BATCH', flag: 'max-batch', help: 'largest cross-session batch; 0 = auto: 8 on GPUs (ort-cuda, ort-webgpu, tensorflow-gpu), 4 on tensorflow, 1 (off) on CPU backends', unit: 'frames', parse: int(0, 64) },
  batchWindowMs: { env: 'MASKSTREAM_BATCH_WINDOW_MS', flag: 'batch-window-ms', help: 'how long a frame may wait for batch partners', unit: 'ms', parse: int(0, 100) },
  admissionMaxLoad: { env: 'MASKSTREAM_ADMISSION_MAX_LOAD', flag: 'admission-max-load', help: 'refuse a session when the projected inference load would pass this share of capacity, 0–1 (0 = off)', parse: fraction(0, 1) },
  pipelineMode: { env: 'MASKSTREAM_PIPELINE_MODE', flag: 'pipeline-mode', help: "pool (worker threads, latest frame wins) or naive (main thread, FIFO): naive is the load benchmark's baseline, never for service", parse: oneOf('pool', 'naive') },
  iceServers: {
    env: 'MASKSTREAM_ICE_SERVERS', flag: 'ice-servers', help: "comma-separated stun:/turn: URLs for the server's own ICE agent (empty = host candidates only)",
    parse: iceUrls,
  },
  icePortRange: {
    env: 'MASKSTREAM_ICE_PORT_RANGE', flag: 'ice-port-range', help: 'UDP ports for ICE, min-max (empty = any port)',
    parse: (raw) => {
      if (raw === '') return null;
      const m = /^(\d+)-(\d+)$/.exec(raw);
      const lo = m ? Number(m[1]) : NaN;
      const hi = m ? Number(m[2]) : NaN;
      if (!m || lo < 1024 || hi > 65535 || lo >= hi) throw new ConfigError(`must be "min-max" with 1024 <= min < max <= 65535, got "${raw}"`);
      return [lo, hi] as const;
    },
  },
  connectTimeoutMs: { env: 'MASKSTREAM_CONNECT_TIMEOUT_MS', flag: 'connect-timeout-ms', help: 'time for ICE + DTLS to connect after the answer', unit: 'ms', parse: int(1000, 120_000) },
  mediaTimeoutMs: { env: 'MASKSTREAM_MEDIA_TIMEOUT_MS', flag: 'media-timeout-ms', help: 'a connected session that receives no RTP for this long is ended', unit: 'ms', parse: int(500, 600_000) },
  reorderWaitMs: { env: 'MASKSTREAM_REORDER_WAIT_MS', flag: 'reorder-wait-ms', help: 'how long a hole in the RTP sequence waits for NACK/RTX', unit: 'ms', parse: int(0, 1000) },
  maxBufferedBytes: { env: 'MASKSTREAM_MAX_BUFFERED_BYTES', flag: 'max-buffered-bytes', help: 'per-receiver backlog above which masks are dropped instead of queued', unit: 'bytes', parse: int(16 * 1024, 64 * 1024 * 1024) },
  maxFramePixels: { env: 'MASKSTREAM_MAX_FRAME_PIXELS', flag: 'max-frame-pixels', help: 'largest accepted video frame (width × height)', unit: 'px', parse: int(64 * 64, 8192 * 8192) },
  logLevel: { env: 'MASKSTREAM_LOG_LEVEL', flag: 'log-level', help: 'log level: debug, info, warn, error or silent (JSON lines on stderr)', parse: oneOf('debug', 'info', 'warn', 'error', 'silent') },
  whipToken: {
    env: 'MASKSTREAM_WHIP_TOKEN', flag: 'whip-token', help: 'bearer token required on WHIP requests and mask subscriptions (empty = no auth); a secret: prefer the environment',
    parse: (raw) => {
      // RFC 6750 b64token characters; 16+ so a token is not guessable by trying.
      if (raw !== '' && !/^[A-Za-z0-9\-._~+/]{16,512}=*$/.test(raw)) throw new ConfigError('must be 16-512 characters of A-Z a-z 0-9 - . _ ~ + / (then optional =), or empty for no auth');
      return raw;
    },
  },
  publicUrl: {
    env: 'MASKSTREAM_PUBLIC_URL', flag: 'public-url', help: "this instance's reachable base URL, http(s)://host[:port][/prefix], used in WHIP Location (empty = relative URLs)",
    parse: (raw) => {
      if (raw === '') return '';
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        throw new ConfigError(`"${raw}" is not a URL (expected http(s)://host[:port][/prefix])`);
      }
      if (!/^https?:$/.test(u.protocol) || u.search || u.hash || u.username) throw new ConfigError(`"${raw}" must be http(s)://host[:port][/prefix] without query, fragment or credentials`);
      return raw.replace(/\/+$/, '');
    },
  },
  clientIceServers: { env: 'MASKSTREAM_CLIENT_ICE_SERVERS', flag: 'client-ice-servers', help: 'comma-separated stun:/turn:/turns: URLs offered to WHIP clients as Link headers', parse: iceUrls },
  clientIceUsername: { env: 'MASKSTREAM_CLIENT_ICE_USERNAME', flag: 'client-ice-username', help: 'TURN username sent with the turn: URLs of client-ice-servers', parse: headerSafe('the TURN username', 256) },
  clientIceCredential: { env: 'MASKSTREAM_CLIENT_ICE_CREDENTIAL', flag: 'client-ice-credential', help: 'TURN credential sent with the turn: URLs of client-ice-servers; a secret', parse: headerSafe('the TURN credential', 256) },
  corsAllowOrigins: {
    env: 'MASKSTREAM_CORS_ALLOW_ORIGINS', flag: 'cors-allow-origins', help: 'origins allowed to call WHIP from a browser, comma-separated scheme://host[:port], or *',
    parse: (raw) => {
      const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
      for (const o of list) {
        if (o !== '*' && !/^https?:\/\/[^\s/]+$/.test(o)) throw new ConfigError(`"${o}" is not an origin (scheme://host[:port]) or *`);
      }
      return list;
    },
  },
  maxMaskSubscribers: { env: 'MASKSTREAM_MAX_MASK_SUBSCRIBERS', flag: 'max-mask-subscribers', help: 'mask subscriber sockets per session; more get 429', unit: 'sockets', parse: int(0, 64) },
  drainTimeoutMs: { env: 'MASKSTREAM_DRAIN_TIMEOUT_MS', flag: 'drain-timeout-ms', help: 'after SIGTERM, how long live sessions may go on before they are closed', unit: 'ms', parse: int(0, 3_600_000) },
  latencySloMs: { env: 'MASKSTREAM_LATENCY_SLO_MS', flag: 'latency-slo-ms', help: 'end-to-end latency objective; a histogram bucket sits exactly here', unit: 'ms', parse: int(1, 10_000) },
  authTokens: {
    env: 'MASKSTREAM_AUTH_TOKENS', flag: 'auth-tokens', help: 'comma-separated static bearer tokens with full access (empty = none); secrets: prefer the environment',
    parse: (raw) => {
      const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
      // RFC 6750 b64token characters; 16+ so a token is not guessable by trying.
      for (const t of list) if (!/^[A-Za-z0-9\-._~+/]{16,512}=*$/.test(t)) throw new ConfigError('each token must be 16-512 characters of A-Z a-z 0-9 - . _ ~ + / (then optional =); separate tokens with commas');
      return list;
    },
  },
  authSecret: {
    env: 'MASKSTREAM_AUTH_SECRET', flag: 'auth-secret', help: 'HMAC-SHA256 secret for signed, expiring tokens, 32–1024 chars (empty = not accepted); a secret',
    parse: (raw) => {
      if (raw !== '' && (raw.length < 32 || raw.length > 1024 || !/^[\x21-\x7e]+$/.test(raw))) throw new ConfigError('must be 32-1024 printable ASCII characters (e.g. `openssl rand -base64 48`), or empty');
      return raw;
    },
  },
  wsAllowOrigins: {
    env: 'MASKSTREAM_WS_ALLOW_ORIGINS', flag: 'ws-allow-origins', help: 'origins whose pages may open /signal and mask sockets, comma-separated, or * (empty = same origin)',
    parse: (raw) => {
      const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
      for (const o of list) {
        if (o !== '*' && !/^https?:\/\/[^\s/]+$/.test(o)) throw new ConfigError(`"${o}" is not an origin (scheme://host[:port]) or *`);
      }
      return list;
    },
  },
  ipMaxSessions: { env: 'MASKSTREAM_IP_MAX_SESSIONS', flag: 'ip-max-sessions', help: 'concurrent sessions per client IP (0 = no limit)', unit: 'sessions', parse: int(0, 1000) },
  ipSessionsPerMinute: { env: 'MASKSTREAM_IP_SESSIONS_PER_MINUTE', flag: 'ip-sessions-per-minute', help: 'new sessions per client IP per minute (0 = no limit)', unit: 'sessions/min', parse: int(0, 100_000) },
  trustProxyHops: { env: 'MASKSTREAM_TRUST_PROXY_HOPS', flag: 'trust-proxy-hops', help: 'reverse proxies in front that append X-Forwarded-For (0 = use the TCP peer address)', unit: 'proxies', parse: int(0, 10) },
};

/**
 * Variables outside the MASKSTREAM_ namespace that a setting also reads, below its own variable:
 * `PORT` is what most platforms (Heroku, Cloud Run, many Kubernetes charts) set.
 */
const ALIASES: { readonly [K in keyof Config]?: string } = { port: 'PORT' };

/** Table rows for `--help` and the README: name, env (+ alias), flag, default, one-line help. */
export function describeConfig(): { key: string; env: string; alias?: string; flag: string; default: string; unit?: string; help: string }[] {
  return (Object.keys(FIELDS) as (keyof Config)[]).map((k) => ({
    key: k,
    env: FIELDS[k].env,
    ...(ALIASES[k] ? { alias: ALIASES[k] } : {}),
    flag: `--${FIELDS[k].flag}`,
    default: JSON.stringify(DEFAULTS[k]),
    ...(FIELDS[k].unit ? { unit: FIELDS[k].unit } : {}),
    help: FIELDS[k].help,
  }));
}

/**
 * Build the configuration from (lowest to highest precedence) defaults, environment (an alias
 * such as PORT below its MASKSTREAM_ variable), CLI flags (`--name value` or `--name=value`) and programmatic overrides (tests).
 * Unknown MASKSTREAM_* variables and unknown flags are errors: a typo must not pass silently.
 */
export function loadConfig(opts: { env?: NodeJS.ProcessEnv; argv?: readonly string[]; overrides?: Partial<Config> } = {}): Config {
  const env = opts.env ?? {};
  const argv = opts.argv ?? [];
  const out: Record<string, unknown> = { ...DEFAULTS };
  const byEnv = new Map(Object.entries(FIELDS).map(([k, f]) => [f.env, k as keyof Config]));
  const byFlag = new Map(Object.entries(FIELDS).map(([k, f]) => [f.flag, k as keyof Config]));
  const set = (key: keyof Config, raw: string, where: string) => {
    try {
      out[key] = FIELDS[key].parse(raw);
    } catch (e) {
      throw new ConfigError(`${where}: ${(e as Error).message}`);
    }
  };
  // Aliases first, so the project's own variable (read next) wins when both are set.
  for (const [key, alias] of Object.entries(ALIASES) as [keyof Config, string][]) {
    const raw = env[alias];
    if (raw !== undefined && env[FIELDS[key].env] === undefined) set(key, raw, alias);
  }
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('MASKSTREAM_') || raw === undefined) continue;
    const key = byEnv.get(name);
    if (!key) throw new ConfigError(`unknown environment variable ${name} (known: ${[...byEnv.keys()].join(', ')})`);
    set(key, raw, name);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const key = byFlag.get(name);
    if (!key) throw new ConfigError(`unknown flag --${name} (known: ${[...byFlag.keys()].map((f) => '--' + f).join(', ')})`);
    let raw: string | undefined = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new ConfigError(`--${name} needs a value`);
    set(key, raw, `--${name}`);
  }
  for (const [k, v] of Object.entries(opts.overrides ?? {})) {
    if (!(k in FIELDS)) throw new ConfigError(`unknown config key "${k}"`);
    if (v !== undefined) out[k] = v;
  }
  if (out['roi'] === 'on' && out['roiSecondModel'] !== 'none' && out['roiDetector'] === 'none') {
    throw new ConfigError(`roiSecondModel ${String(out['roiSecondModel'])} needs a person detector (its doubts are people the detector sees): set --roi-detector movenet-multipose or --roi-second-model none`);
  }
  return Object.freeze(out) as unknown as Config;
}

/** The engine's region-of-interest options for a configuration (false = off). */
export function roiOptionsOf(config: Pick<Config, 'roi' | 'roiRefreshFrames' | 'roiDetector' | 'roiDetectEvery' | 'roiSecondModel'>): RoiOptions | false {
  return config.roi === 'on' ? { ...DEFAULT_ROI, refreshFrames: config.roiRefreshFrames, detector: config.roiDetector, detectEvery: config.roiDetectEvery, secondModel: config.roiSecondModel } : false;
}
