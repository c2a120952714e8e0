/**
 * Structured JSON logs, one object per line on stderr. Info level never carries SDP,
 * ICE candidates or tokens: callers pass those only to debug().
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Where loggers made without a sink of their own write: stderr, one JSON object per line. */
let defaultSink: (line: string) => void = (line) => void process.stderr.write(line + '\n');

/**
 * Replaces (or, with no argument, restores) the sink of loggers made without one, including
 * loggers made before the call. For a test harness: the suite keeps each test's server log
 * lines and prints them only when the test fails (test/helpers/logCapture.ts).
 */
export function setDefaultLogSink(sink?: (line: string) => void): void {
  defaultSink = sink ?? ((line) => void process.stderr.write(line + '\n'));
}

export function createLogger(level: LogLevel, base: Record<string, unknown> = {}, sink: (line: string) => void = (l) => defaultSink(l)): Logger {
  const min = RANK[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < min) return;
    const rec: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, msg, ...base, ...fields };
    for (const [k, v] of Object.entries(rec)) if (v instanceof Error) rec[k] = { name: v.name, message: v.message };
    sink(JSON.stringify(rec));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (f) => createLogger(level, { ...base, ...f }, sink),
  };
}
