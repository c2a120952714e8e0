/**
 * Composition root: config → metrics/logger → inference worker → sessions → HTTP +
 * WebSocket signaling. `startServer()` is used by `npm start`, tests and benchmarks.
 * Close cascade: signaling sockets → sessions → inference worker → HTTP server.
 */
import http from 'node:http';
import path from 'node:path';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { InferenceWorker } from './inference/inferenceWorker.js';
import type { EngineInfo } from './inference/types.js';
import { SessionRegistry } from './session/sessionRegistry.js';
import { WsSignaling } from './signaling/wsSignaling.js';
import { projectRoot } from './paths.js';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly config: Config;
  readonly metrics: Metrics;
  readonly registry: SessionRegistry;
  readonly engineInfo: EngineInfo;
  /** The inference worker (owned by the server; tests read its tensor count). */
  readonly inference: InferenceWorker;
  close(): Promise<void>;
}

export async function startServer(overrides: Partial<Config> = {}, opts: { logger?: Logger; config?: Config } = {}): Promise<RunningServer> {
  const config = opts.config ?? loadConfig({ overrides });
  const log = opts.logger ?? createLogger(config.logLevel);
  const metrics = new Metrics();

  const inference = await InferenceWorker.start({
    model: config.model,
    backend: config.backend,
    temporal: { mode: config.temporal, ringSize: config.ringSize },
  });
  inference.onRestart?.(() => metrics.workerRestarts.inc());
  const engineInfo = inference.info;
  metrics.backendInfo.set({ backend: engineInfo.backend, model: engineInfo.model }, 1);
  log.info('inference engine ready', { backend: engineInfo.backend, model: engineInfo.model, input: `${engineInfo.inputWidth}x${engineInfo.inputHeight}` });

  const registry = new SessionRegistry({ config, metrics, logger: log, inference, engineInfo }, config.maxSessions, metrics);
  const signaling = new WsSignaling(registry, engineInfo, metrics, log);

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', backend: engineInfo.backend, model: engineInfo.model, sessions: registry.size, maxSessions: config.maxSessions });
  });
  app.get('/readyz', (_req, res) => {
    const ready = registry.size < config.maxSessions;
    res.status(ready ? 200 : 503).json({ ready, sessions: registry.size, maxSessions: config.maxSessions });
  });
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  const clientDir = path.join(projectRoot(), 'dist', 'client');
  if (!existsSync(path.join(clientDir, 'index.html'))) log.warn('client bundle missing: run `npm run build`', { clientDir });
  app.use(express.static(clientDir, { index: 'index.html', maxAge: 0 }));

  const server = http.createServer(app);
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/signal') {
      socket.destroy();
      return;
    }
    signaling.wss.handleUpgrade(req, socket, head, (ws) => signaling.wss.emit('connection', ws, req));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${shownHost}:${port}`;
  log.info('listening', { url });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      signaling.close();
      registry.closeAll('shutdown');
      await inference.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      log.info('server closed');
    })();
    return closing;
  };
  return { url, port, config, metrics, registry, engineInfo, inference, close };
}
