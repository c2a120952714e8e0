/**
 * The one place configuration is read: environment variables and CLI flags with the
 * same names (MASKSTREAM_PORT=9000 ≡ --port 9000). Validated, filled with defaults into
 * a frozen copy. Every field documents its unit; README "Configuration" mirrors this table.
 */
import { TEMPORAL_MODES, type BackendName, type ModelName, type TemporalMode } from './inference/types.js';

export interface Config {
  /** HTTP/WebSocket port; 0 picks a free port. */
  readonly port: number;
  /** Address to listen on. */
  readonly host: string;
  /** Segmentation model. */
  readonly model: ModelName;
  /** Inference backend: auto = tensorflow-gpu → tensorflow → wasm → cpu. */
  readonly backend: 'auto' | BackendName;
  /** Temporal stage. `none` = pass-through (attention lands with issue #3). */
  readonly temporal: TemporalMode;
  /** Frames kept in each session's feature ring buffer. */
  readonly ringSize: number;
  /** Concurrent sessions admitted; more are refused with `server_full`. */
  readonly maxSessions: number;
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
}

export const DEFAULTS: Config = Object.freeze({
  port: 8080,
  host: '0.0.0.0',
  model: 'meet',
  backend: 'auto',
  temporal: 'none',
  ringSize: 8,
  maxSessions: 4,
  iceServers: [],
  icePortRange: null,
  connectTimeoutMs: 15_000,
  mediaTimeoutMs: 10_000,
  reorderWaitMs: 60,
  maxBufferedBytes: 256 * 1024,
  maxFramePixels: 1920 * 1088,
  logLevel: 'info',
} satisfies Config);

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

interface FieldSpec {
  readonly env: string;
  readonly flag: string;
  parse(raw: string): unknown;
}

function int(min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`must be an integer in [${min}, ${max}], got "${raw}"`);
    return n;
  };
}
function oneOf<T extends string>(...values: T[]) {
  return (raw: string): T => {
    if (!(values as string[]).includes(raw)) throw new ConfigError(`must be one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  };
}

const FIELDS: { [K in keyof Config]: FieldSpec } = {
  port: { env: 'MASKSTREAM_PORT', flag: 'port', parse: int(0, 65535) },
  host: { env: 'MASKSTREAM_HOST', flag: 'host', parse: (r) => { if (!r) throw new ConfigError('must not be empty'); return r; } },
  model: { env: 'MASKSTREAM_MODEL', flag: 'model', parse: oneOf<ModelName>('meet', 'selfie') },
  backend: { env: 'MASKSTREAM_BACKEND', flag: 'backend', parse: oneOf('auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu') },
  temporal: { env: 'MASKSTREAM_TEMPORAL', flag: 'temporal', parse: oneOf<TemporalMode>(...TEMPORAL_MODES) },
  ringSize: { env: 'MASKSTREAM_RING_SIZE', flag: 'ring-size', parse: int(1, 64) },
  maxSessions: { env: 'MASKSTREAM_MAX_SESSIONS', flag: 'max-sessions', parse: int(1, 1000) },
  iceServers: {
    env: 'MASKSTREAM_ICE_SERVERS', flag: 'ice-servers',
    parse: (raw) => {
      const urls = raw.split(',').map((s) => s.trim()).filter(Boolean);
      for (const u of urls) if (!/^(stun|turns?):[^\s]+$/.test(u)) throw new ConfigError(`"${u}" is not a stun:/turn:/turns: URL`);
      return urls;
    },
  },
  icePortRange: {
    env: 'MASKSTREAM_ICE_PORT_RANGE', flag: 'ice-port-range',
    parse: (raw) => {
      if (raw === '') return null;
      const m = /^(\d+)-(\d+)$/.exec(raw);
      const lo = m ? Number(m[1]) : NaN;
      const hi = m ? Number(m[2]) : NaN;
      if (!m || lo < 1024 || hi > 65535 || lo >= hi) throw new ConfigError(`must be "min-max" with 1024 <= min < max <= 65535, got "${raw}"`);
      return [lo, hi] as const;
    },
  },
  connectTimeoutMs: { env: 'MASKSTREAM_CONNECT_TIMEOUT_MS', flag: 'connect-timeout-ms', parse: int(1000, 120_000) },
  mediaTimeoutMs: { env: 'MASKSTREAM_MEDIA_TIMEOUT_MS', flag: 'media-timeout-ms', parse: int(500, 600_000) },
  reorderWaitMs: { env: 'MASKSTREAM_REORDER_WAIT_MS', flag: 'reorder-wait-ms', parse: int(0, 1000) },
  maxBufferedBytes: { env: 'MASKSTREAM_MAX_BUFFERED_BYTES', flag: 'max-buffered-bytes', parse: int(16 * 1024, 64 * 1024 * 1024) },
  maxFramePixels: { env: 'MASKSTREAM_MAX_FRAME_PIXELS', flag: 'max-frame-pixels', parse: int(64 * 64, 8192 * 8192) },
  logLevel: { env: 'MASKSTREAM_LOG_LEVEL', flag: 'log-level', parse: oneOf('debug', 'info', 'warn', 'error', 'silent') },
};

/** Table rows for `--help` and the README: name, env, flag, default. */
export function describeConfig(): { key: string; env: string; flag: string; default: string }[] {
  return (Object.keys(FIELDS) as (keyof Config)[]).map((k) => ({
    key: k,
    env: FIELDS[k].env,
    flag: `--${FIELDS[k].flag}`,
    default: JSON.stringify(DEFAULTS[k]),
  }));
}

/**
 * Build the configuration from (lowest to highest precedence) defaults, environment,
 * CLI flags (`--name value` or `--name=value`) and programmatic overrides (tests).
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
  return Object.freeze(out) as unknown as Config;
}
