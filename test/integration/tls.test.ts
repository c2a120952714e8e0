/**
 * TLS termination in front of the server (as an ingress or reverse proxy does it): a TLS
 * terminator on 127.0.0.1 with a self-signed certificate (test/fixtures/tls) passes bytes to
 * the plain-HTTP server. The client page loads over https, WebSocket signaling works over wss
 * (the page derives wss:// from https:, client/signaling.ts), the Origin check accepts the
 * https page's own origin and refuses others, and a publisher gets masks (media is UDP, not
 * through the terminator).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../src/main.js';
import { projectRoot } from '../../src/paths.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { FaultPublisher } from '../../src/reliability/faultPublisher.js';
import { upgradeStatus } from '../helpers/signalClient.js';
import { LOADED_MS, waitFor } from '../helpers/waitFor.js';

const dir = path.join(projectRoot(), 'test/fixtures/tls');

function get(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

function wssStatus(url: string, ca: Buffer, origin: string): Promise<number> {
  return upgradeStatus(new WebSocket(url, { ca, headers: { Origin: origin } }));
}

describe('TLS termination in front of the server: https page, wss signaling', function () {
  this.timeout(300_000);
  let server: RunningServer;
  let terminator: tls.Server;
  let base: string;
  const ca = readFileSync(path.join(dir, 'cert.pem'));

  before(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'error', admissionMaxLoad: 0 });
    terminator = tls.createServer({ cert: ca, key: readFileSync(path.join(dir, 'key.pem')) }, (client) => {
      const upstream = net.connect(server.port, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
      client.on('close', end);
      upstream.on('close', end);
    });
    await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', () => resolve()));
    base = `https://127.0.0.1:${(terminator.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => terminator?.close(r));
    await server?.close();
  });

  it('serves the page and the API over https', async () => {
    const health = await get(base + '/healthz', ca);
    expect(health.status).to.equal(200);
    expect(JSON.parse(health.body)).to.include({ status: 'ok' });
    const page = await get(base + '/', ca);
    expect(page.status, 'client page (npm run build makes dist/client)').to.equal(200);
    expect(page.body).to.match(/<html/i);
  });

  it('accepts wss from the https page\'s own origin, refuses other origins (403)', async () => {
    const wss = base.replace(/^https/, 'wss');
    expect(await wssStatus(wss + '/signal', ca, base)).to.equal(101);
    expect(await wssStatus(wss + '/signal', ca, 'https://evil.example')).to.equal(403);
  });

  it('signals over wss through the terminator and gets masks', async () => {
    const clip = await generateClip({ frames: 30, width: 320, height: 240, fps: 30, speedPxPerFrame: 3, seed: 12 });
    const pub = new FaultPublisher({ url: base, codec: 'vp8', frames: clip.frames, fps: 30, ca, headers: { Origin: base } });
    try {
      await pub.connect(LOADED_MS);
      await pub.run(45);
      // The newest frame is never superseded: its mask proves the path, however busy the machine.
      await waitFor(() => pub.maskAt.has(pub.framesSent - 1), LOADED_MS);
    } finally {
      await pub.close();
    }
    expect(pub.errors).to.deep.equal([]);
    expect(pub.maskAt.has(pub.framesSent - 1), `mask of the last frame (${pub.masksReceived} masks for ${pub.framesSent} frames)`).to.equal(true);
  });
});
