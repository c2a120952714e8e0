/**
 * Inference failures: an inference worker that crashes mid-stream is replaced, the frames it
 * held are dropped and counted, and the live sessions go on producing masks; a model backend
 * that cannot load at start stops `maskstream serve` with one clear line and exit code 1
 * (a corrupt model file is covered by test/unit/inference/inferenceWorker.test.ts).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startServer, type RunningServer } from '../../src/main.js';
import { projectRoot } from '../../src/paths.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { FaultPublisher } from '../../src/reliability/faultPublisher.js';
import { metricValue } from '../helpers/signalClient.js';
import { LOADED_MS, waitFor } from '../helpers/waitFor.js';

describe('inference worker failure and model load failure', function () {
  this.timeout(300_000);
  let server: RunningServer;

  before(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'error', admissionMaxLoad: 0 });
  });
  after(async () => {
    await server?.close();
  });

  it('a crashed worker is replaced; its frames are dropped and counted; both sessions keep producing masks', async () => {
    const crash = (server.inference as unknown as { crashForTesting?: (worker?: number) => void }).crashForTesting?.bind(server.inference);
    expect(crash, 'the inference service can be crashed for tests').to.be.a('function');
    const clip = await generateClip({ frames: 30, width: 320, height: 240, fps: 30, speedPxPerFrame: 3, seed: 8 });
    const pubs = [0, 1].map(() => new FaultPublisher({ url: server.url, codec: 'vp8', frames: clip.frames, fps: 30 }));
    for (const p of pubs) await p.connect(LOADED_MS);
    const runs = pubs.map((p) => p.run(30 * 3600)); // stopped by close()
    try {
      await waitFor(() => pubs.every((p) => p.masksReceived > 20), LOADED_MS);
      const crashes = 3;
      const gapsMs: number[] = [];
      for (let i = 0; i < crashes; i++) {
        const before = pubs.map((p) => p.masksReceived);
        const t0 = Date.now();
        crash!();
        // Masks again from both sessions after the worker came back.
        await waitFor(() => pubs.every((p, k) => p.masksReceived > before[k]! + 1), LOADED_MS);
        gapsMs.push(Date.now() - t0);
        expect(await waitFor(() => pubs.every((p, k) => p.masksReceived > before[k]! + 15), LOADED_MS), `masks after crash ${i + 1}`).to.equal(true);
      }
      const restarts = await metricValue(server.url, 'maskstream_inference_worker_restarts_total');
      const errors = await metricValue(server.url, 'maskstream_frames_dropped_total', 'reason="inference_error"');
      console.log(`      ${crashes} worker crashes: ${restarts} restarts, ${errors} frames dropped as inference_error; crash → masks again from both sessions: ${gapsMs.join(', ')} ms (a new worker loads the model); masks ${pubs.map((p) => `${p.masksReceived}/${p.framesSent}`).join(', ')}`);
      expect(restarts, 'every crashed worker was replaced').to.equal(crashes);
      expect(server.registry.size, 'no session ended').to.equal(2);
      for (const p of pubs) expect(p.byeReason).to.equal(undefined);
    } finally {
      for (const p of pubs) await p.close();
      await Promise.all(runs);
    }
    // Accounting: every frame received is processed or dropped for a reason (inference_error included).
    await waitFor(() => server.registry.size === 0, LOADED_MS);
    const text = await (await fetch(server.url + '/metrics')).text();
    const received = Number(/^maskstream_frames_received_total (\S+)$/m.exec(text)![1]);
    const processed = Number(/^maskstream_frames_processed_total (\S+)$/m.exec(text)![1]);
    const dropped = [...text.matchAll(/^maskstream_frames_dropped_total\{reason="[a-z_]+"\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(processed + dropped, `received ${received} = processed ${processed} + dropped ${dropped}`).to.be.closeTo(received, Math.max(3, received * 0.02));
  });

  it('a backend that cannot load at start stops `maskstream serve` with one clear line, exit 1, no stack', async () => {
    const cli = path.join(projectRoot(), 'dist/src/cli/maskstream.js');
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [cli, 'serve', '--backend', 'tensorflow', '--port', '0', '--host', '127.0.0.1'], { cwd: projectRoot(), env: { PATH: process.env.PATH ?? '' } });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(r.code).to.equal(1);
    const lines = r.stderr.trim().split('\n').filter((l) => !/TensorFlow\.js|^=+$/.test(l));
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.match(/^maskstream: backend "tensorflow" is not available here: .*Fix: /);
    expect(r.stderr).to.not.match(/^\s+at /m);
  });
});
