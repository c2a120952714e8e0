/**
 * Composition root: config → HTTP port bound (503 until ready) → metrics/logger → inference
 * pool → sessions → HTTP routes (WHIP, probes, metrics, client page) + WebSocket signaling and
 * mask subscriptions.
 * `startServer()` is used by `npm start`, tests and benchmarks.
 * Drain (SIGTERM): stop admitting → wait for sessions up to drainTimeoutMs → close them.
 * Close cascade: load sampler → signaling sockets → sessions (their subscribers) →
 * subscriber sockets → inference pool (its workers) → HTTP server.
 */
import http from 'node:http';
import path from 'node:path';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import express from 'express';
import { loadConfig, roiOptionsOf, type Config } from './config.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { InferencePool } from './inference/inferencePool.js';
import { NaiveInference } from './inference/naiveInference.js';
import type { EngineInfo, EngineOptions, InferenceService } from './inference/types.js';
import { admissionVerdict } from './session/admission.js';
import { PipelineGauges } from './observability/eventLoopLag.js';
import { performance } from 'node:perf_hooks';
import { SessionRegistry } from './session/sessionRegistry.js';
import { WsSignaling } from './signaling/wsSignaling.js';
import { WhipEndpoint } from './signaling/whipEndpoint.js';
import { AccessControl, wwwAuthenticate } from './signaling/access.js';
import { MaskSubscriptions, parseMasksPath } from './egress/maskSubscriptions.js';
import { LoadSampler, MeteredInference } from './observability/inferenceLoad.js';
import { projectRoot } from './paths.js';

/** What drain() did. Times in ms. */
export interface DrainReport {
  /** Sessions open when draining began. */
  readonly sessionsAtStart: number;
  /** Sessions closed by the drain timeout (the rest ended on their own). */
  readonly closedAtTimeout: number;
  /** Draining start → no session left, ms. */
  readonly elapsedMs: number;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly config: Config;
  readonly metrics: Metrics;
  readonly registry: SessionRegistry;
  readonly engineInfo: EngineInfo;
  /** The inference pool (owned by the server; tests read its tensor count, benchmarks its queue). */
  readonly inference: InferenceService;
  /**
   * Graceful drain (SIGTERM): refuse new sessions (WS `server_full` with retryAfterMs, WHIP 503
   * + Retry-After, /readyz 503), let live ones run up to `timeoutMs` (default config
   * drainTimeoutMs), then close the rest with bye `shutdown`. Idempotent; does not close the server.
   */
  drain(opts?: { timeoutMs?: number }): Promise<DrainReport>;
  close(): Promise<void>;
}

/**
 * The HTTP port cannot be had: in use (EADDRINUSE), privileged (EACCES) or the host is not an
 * address of this machine (EADDRNOTAVAIL). Raised before the model loads, so within a second.
 */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(readonly port: number, readonly host: string, readonly code: string | undefined, message: string) {
    super(message);
  }
}

/** Binds `server` to port/host, or rejects with a ListenError whose message says what to change. */
function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      const pick = 'pick another with --port <n> or MASKSTREAM_PORT/PORT';
      const why = e.code === 'EADDRINUSE' ? `port ${port} is in use; ${pick}`
        : e.code === 'EACCES' ? `port ${port} needs privileges on ${host}; ${pick} (1024 or above)`
        : e.code === 'EADDRNOTAVAIL' ? `cannot listen on ${host}:${port}: ${host} is not an address of this machine; set --host or MASKSTREAM_HOST`
        : `cannot listen on ${host}:${port}: ${e.message}`;
      reject(new ListenError(port, host, e.code, why));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export async function startServer(overrides: Partial<Config> = {}, opts: { logger?: Logger; config?: Config } = {}): Promise<RunningServer> {
  const config = opts.config ?? loadConfig({ overrides });
  const log = opts.logger ?? createLogger(config.logLevel);
  // The port first: a port in use fails now, not after the model load (seconds). Until the
  // server is ready, every request gets 503 + Retry-After (the startup probe keeps waiting).
  let handle: http.RequestListener = (_req, res) => {
    res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' });
    res.end('{"status":"starting"}');
  };
  const server = http.createServer((req, res) => handle(req, res));
  let upgrade: UpgradeHandler = (_req, socket) => socket.destroy();
  server.on('upgrade', (req, socket, head) => upgrade(req, socket, head));
  await listen(server, config.port, config.host);
  try {
    return await startServing(server, config, log, (h, u) => {
      handle = h;
      upgrade = u;
    });
  } catch (e) {
    // The server owns the socket until startServing returns; a failed start releases it.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw e;
  }
}

type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Everything after the port is bound: inference, sessions, routes; `serve` swaps in the real handlers. */
async function startServing(server: http.Server, config: Config, log: Logger, serve: (handle: http.RequestListener, upgrade: UpgradeHandler) => void): Promise<RunningServer> {
  const metrics = new Metrics({ latencySloSeconds: config.latencySloMs / 1000, maxSessions: config.maxSessions });

  const engineOptions: EngineOptions = {
    model: config.model,
    backend: config.backend,
    ortThreads: config.ortThreads,
    temporal: { mode: config.temporal, ringSize: config.ringSize },
    maxBatch: config.maxBatch,
    roi: roiOptionsOf(config),
  };
  const inference: InferenceService = config.pipelineMode === 'naive'
    ? await NaiveInference.start(engineOptions)
    : await InferencePool.start({ ...engineOptions, workers: config.inferenceWorkers, batchWindowMs: config.batchWindowMs });
  inference.onRestart(() => metrics.workerRestarts.inc());
  inference.onSessionsReset((n) => metrics.temporalResets.inc(n));
  inference.onDetectorError((e) => log.warn('person detector failed between frames; its pictures were skipped', { error: e.message }));
  const engineInfo = inference.info;
  // One line per backend that could not start before the one that did (skipped ones at debug).
  for (const a of inference.backendAttempts) {
    if (a.ok) continue;
    if (a.skipped) log.debug('inference backend skipped', { backend: a.backend, reason: a.reason });
    else log.warn(`inference backend ${a.backend} unavailable, falling back: ${a.reason}`, { backend: a.backend });
  }
  metrics.backendInfo.set({ backend: engineInfo.backend, model: engineInfo.model }, 1);
  metrics.inferenceWorkers.set(inference.workers);
  log.info('inference engine ready', {
    backend: engineInfo.backend, provider: engineInfo.provider, model: engineInfo.model, input: `${engineInfo.inputWidth}x${engineInfo.inputHeight}`,
    temporal: config.temporal, ringSize: config.ringSize, roi: config.roi, roiRefreshFrames: config.roiRefreshFrames, ...(engineInfo.detector ? { detector: engineInfo.detector } : {}), ...(engineInfo.secondModel ? { secondModel: engineInfo.secondModel } : {}), pipeline: config.pipelineMode, workers: inference.workers, maxBatch: inference.maxBatch,
  });
  if (config.pipelineMode === 'naive') log.warn('pipelineMode naive: one engine on the main thread, FIFO, nothing dropped; a benchmark baseline, not for service');

  const metered = new MeteredInference(inference, metrics, () => performance.now(), inference.workers);
  const registry = new SessionRegistry({ config, metrics, logger: log, inference: metered, engineInfo }, config.maxSessions, metrics, {
    check: (estimate) => admissionVerdict(estimate, config.admissionMaxLoad),
    utilization: () => metered.busy.ratio(performance.now()),
  });
  const gauges = new PipelineGauges(metrics, () => inference.waitingFrames);
  gauges.start();
  const access = new AccessControl(config, metrics);
  const signaling = new WsSignaling({ registry, engineInfo, metrics, logger: log, access, config });
  const whip = new WhipEndpoint({ registry, config, metrics, logger: log, access });
  const subscriptions = new MaskSubscriptions({
    lookup: (id) => registry.get(id), metrics, logger: log,
    authorized: (req, sessionId) => {
      const r = access.session('masks', AccessControl.requestToken(req, true), sessionId, 'read');
      return r.ok ? r : { ok: false, status: r.status, message: r.message, wwwAuthenticate: wwwAuthenticate(r) };
    },
    maxPerSession: config.maxMaskSubscribers,
  });
  const sampler = new LoadSampler({
    metrics, busy: metered.busy, logger: log,
    sessions: () => ({ active: registry.size, max: config.maxSessions }),
    temporalBytes: async () => (await inference.memory()).temporalBytes,
  });
  sampler.start();

  const app = express();
  app.disable('x-powered-by');
  // Liveness: the process answers (draining or full is still alive).
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', backend: engineInfo.backend, provider: engineInfo.provider, model: engineInfo.model, sessions: registry.size, maxSessions: config.maxSessions, draining: registry.draining });
  });
  // Readiness: would a new session be admitted? (Kubernetes stops routing new requests here when not.)
  app.get('/readyz', (_req, res) => {
    const ready = registry.admitting;
    res.status(ready ? 200 : 503).json({ ready, draining: registry.draining, sessions: registry.size, maxSessions: config.maxSessions });
  });
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  app.use(whip.router);
  const clientDir = path.join(projectRoot(), 'dist', 'client');
  if (!existsSync(path.join(clientDir, 'index.html'))) log.warn('client bundle missing: run `npm run build`', { clientDir });
  app.use(express.static(clientDir, { index: 'index.html', maxAge: 0 }));

  serve(app, (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/signal') {
      signaling.handleUpgrade(req, socket, head);
      return;
    }
    const sessionId = parseMasksPath(url.pathname);
    if (sessionId) {
      if (access.checkOrigin(req, socket)) subscriptions.handleUpgrade(req, socket, head, sessionId);
      return;
    }
    socket.destroy();
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${shownHost}:${port}`;
  log.info('listening', { url });

  let draining: Promise<DrainReport> | undefined;
  const drain = (opts: { timeoutMs?: number } = {}) => {
    draining ??= (async () => {
      const timeoutMs = opts.timeoutMs ?? config.drainTimeoutMs;
      const started = Date.now();
      const sessionsAtStart = registry.size;
      registry.startDraining();
      log.info('draining: no new sessions', { sessions: sessionsAtStart, timeoutMs });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        registry.whenEmpty().then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
      ]);
      clearTimeout(timer);
      const closedAtTimeout = timedOut ? registry.size : 0;
      if (timedOut) registry.closeAll('shutdown');
      const report: DrainReport = { sessionsAtStart, closedAtTimeout, elapsedMs: Date.now() - started };
      log.info('drained', { ...report });
      return report;
    })();
    return draining;
  };

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      sampler.stop();
      gauges.stop();
      signaling.close();
      registry.closeAll('shutdown');
      subscriptions.close();
      await inference.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      log.info('server closed');
    })();
    return closing;
  };
  return { url, port, config, metrics, registry, engineInfo, inference, drain, close };
}
