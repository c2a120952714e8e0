/**
 * A real Prometheus server (Debian's `prometheus` binary) for integration tests: its own
 * temporary TSDB and config, 127.0.0.1 on a free port, stopped and removed by stop(). Queries go
 * through the HTTP API (/api/v1/*) as Grafana's data source sends them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The binary; PROMETHEUS overrides. */
export const PROMETHEUS_BIN = process.env.PROMETHEUS ?? 'prometheus';

/** One series of an instant query: its labels and [unix seconds, value as text]. */
export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** The Prometheus version line, or throws with how to install it (tests never skip for it). */
export function prometheusVersion(): string {
  const r = spawnSync(PROMETHEUS_BIN, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`cannot run ${PROMETHEUS_BIN} (${r.error?.message ?? r.stderr.trim()}): apt-get install prometheus (Debian; .ci/run does), or set PROMETHEUS`);
  }
  return `${r.stdout}${r.stderr}`.split('\n')[0]!.trim();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class PrometheusServer {
  /** Last lines of Prometheus' log (stderr), for failure messages. */
  log = '';
  private exited = false;

  private constructor(readonly url: string, readonly dir: string, private readonly child: ChildProcess) {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.log = (this.log + d).slice(-6000)));
    child.stdout!.resume();
    child.once('exit', () => (this.exited = true));
  }

  /**
   * Starts Prometheus with `config` (prometheus.yml text) and `files` (name → text, e.g. rules)
   * in a fresh temporary directory; resolves when /-/ready answers 200.
   */
  static async start(config: string, files: Record<string, string> = {}, readyTimeoutMs = 60_000): Promise<PrometheusServer> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'maskstream-prometheus-'));
    writeFileSync(path.join(dir, 'prometheus.yml'), config);
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    const port = await freePort();
    const child = spawn(PROMETHEUS_BIN, [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const prom = new PrometheusServer(`http://127.0.0.1:${port}`, dir, child);
    const end = Date.now() + readyTimeoutMs;
    for (;;) {
      if (prom.exited) {
        await prom.stop();
        throw new Error(`prometheus exited at start:\n${prom.log}`);
      }
      try {
        if ((await fetch(prom.url + '/-/ready')).status === 200) return prom;
      } catch {
        // not listening yet
      }
      if (Date.now() > end) {
        await prom.stop();
        throw new Error(`prometheus not ready within ${readyTimeoutMs} ms:\n${prom.log}`);
      }
      await sleep(100);
    }
  }

  /** GET /api/v1/<endpoint>; throws on an API error, with Prometheus' message. */
  async api<T>(endpoint: string, params: Record<string, string | string[]> = {}): Promise<T> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
    const res = await fetch(`${this.url}/api/v1/${endpoint}?${q.toString()}`);
    const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`${endpoint} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`);
    return body.data;
  }

  /** Instant query at `time` (unix seconds); the vector's samples (scalars as one sample without labels). */
  async query(expr: string, time: number): Promise<PromSample[]> {
    const data = await this.api<{ resultType: string; result: unknown }>('query', { query: expr, time: time.toFixed(3) });
    if (data.resultType === 'vector') return data.result as PromSample[];
    if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
    throw new Error(`${expr}: unexpected result type ${data.resultType}`);
  }

  /** Stops the process (SIGTERM, then SIGKILL after 10 s) and removes its directory. Idempotent. */
  async stop(): Promise<void> {
    if (!this.exited) {
      const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
