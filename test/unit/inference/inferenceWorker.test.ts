import { expect } from 'chai';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InferenceWorker, InferenceWorkerClosedError, WorkerCrashedError, type RestartEvent } from '../../../src/inference/inferenceWorker.js';
import { projectRoot } from '../../../src/paths.js';
import { grey, portrait, score } from './portrait.js';
import { rejection } from '../../helpers/rejection.js';


describe('inference/inferenceWorker InferenceWorker', function () {
  this.timeout(60_000);
  let w: InferenceWorker;
  const restarts: RestartEvent[] = [];

  before(async () => {
    w = await InferenceWorker.start({ model: 'meet', backend: 'auto', temporal: { mode: 'attention', ringSize: 3 } });
    w.onRestart((e) => restarts.push(e));
  });
  after(async () => {
    await w?.close();
  });

  it('resolves with the engine info once the model is loaded', () => {
    expect(w.info).to.deep.include({ backend: 'ort-cpu', model: 'meet', inputWidth: 256, inputHeight: 144, maskWidth: 256, maskHeight: 144 });
    expect(w.backendAttempts.map((a) => [a.backend, a.ok])).to.deep.equal([['ort-cuda', false], ['ort-webgpu', false], ['tensorflow-gpu', false], ['ort-cpu', true]]);
  });

  it('round trip: the frame is transferred, the mask comes back and segments the person', async () => {
    const img = portrait(256, 144, 0.75);
    const rgb = img.rgb.slice();
    const pending = w.process('rt', rgb);
    expect(rgb.buffer.byteLength, 'sent buffer detached').to.equal(0);
    const r = await pending;
    expect([r.width, r.height]).to.deep.equal([256, 144]);
    expect(r.mask).to.be.instanceOf(Uint8Array);
    expect(r.mask.byteLength).to.equal(256 * 144);
    expect(r.mask.buffer.byteLength, 'mask arrives in its own (transferred) buffer').to.equal(256 * 144);
    const s = score(r.mask, img, 255);
    expect(s.precision, JSON.stringify(s)).to.be.at.least(0.9);
    expect(s.face, JSON.stringify(s)).to.be.at.least(0.9);
    w.closeSession('rt');
  });

  it('copies instead of stealing a buffer the frame only views part of', async () => {
    const pool = new Uint8Array(256 * 144 * 3 + 16);
    const view = pool.subarray(16);
    view.fill(128);
    await w.process('view', view);
    expect(pool.buffer.byteLength).to.equal(pool.length);
    w.closeSession('view');
  });

  it('reports errors from the engine under their own name', async () => {
    const e = await rejection(w.process('bad', new Uint8Array(12)));
    expect(e.name).to.equal('FrameSizeError');
    expect(e.message).to.match(/needs 256×144×3/);
    w.closeSession('bad');
  });

  it('tensor count and session memory in the worker return to baseline after closeSession', async () => {
    await w.process('warm', grey(256, 144)); // baseline taken after at least one full frame in this worker
    w.closeSession('warm');
    const base = await w.memory();
    expect(base.temporalBytes).to.equal(0);
    for (let i = 0; i < 20; i++) await w.process('m', grey(256, 144, i * 10));
    const during = await w.memory();
    expect(during.numTensors).to.equal(base.numTensors);
    expect(during.sessions).to.equal(1);
    expect(during.temporalBytes).to.be.at.least(3 * 256 * 144); // three 8-bit masks at least
    w.closeSession('m');
    const after = await w.memory();
    expect(after.numTensors).to.equal(base.numTensors);
    expect([after.sessions, after.temporalBytes]).to.deep.equal([0, 0]);
  });

  it('a crash rejects in-flight requests with WorkerCrashedError, then the next call restarts a worker', async () => {
    const crashes: Error[] = [];
    w.onCrash((e) => crashes.push(e));
    await w.process('c', grey(256, 144)); // session open before the crash
    w.crashForTesting();
    const inFlight = w.process('c', grey(256, 144));
    const e = await rejection(inFlight);
    expect(e).to.be.instanceOf(WorkerCrashedError);
    expect(e.name).to.equal('WorkerCrashedError');
    expect(e.message).to.match(/crashForTesting/);
    expect(crashes).to.have.length(1);
    expect(w.restarts).to.equal(0);

    const img = portrait(256, 144, 0.75);
    const r = await w.process('c', img.rgb.slice()); // session re-opened lazily in the new worker
    expect(score(r.mask, img, 255).precision).to.be.at.least(0.9);
    expect(w.restarts).to.equal(1);
    expect(restarts).to.have.length(1);
    expect(restarts[0]!.reason).to.match(/crashForTesting/);
    w.closeSession('c');
  });

  it('close() is idempotent and later calls reject with InferenceWorkerClosedError', async () => {
    const w2 = await InferenceWorker.start({ model: 'selfie', backend: 'wasm', temporal: { mode: 'none', ringSize: 2 } });
    const inFlight = w2.process('s', grey(256, 256));
    const closing = w2.close();
    expect(w2.close()).to.equal(closing);
    await closing;
    const r = await inFlight; // queued before close: still answered
    expect(r.mask.length).to.equal(256 * 256);
    expect(await rejection(w2.process('s', grey(256, 256)))).to.be.instanceOf(InferenceWorkerClosedError);
    expect(await rejection(w2.memory())).to.be.instanceOf(InferenceWorkerClosedError);
    w2.closeSession('s'); // no-op, no throw
  });
});

describe('inference/inferenceWorker start failure', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'maskstream-worker-'));
    const models = path.join(projectRoot(), 'models');
    copyFileSync(path.join(models, 'meet.json'), path.join(dir, 'meet.json'));
    writeFileSync(path.join(dir, 'meet.bin'), Buffer.alloc(1000));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a model that fails to load rejects start() with the worker-side error', async () => {
    const e = await rejection(InferenceWorker.start({ model: 'meet', backend: 'wasm', temporal: { mode: 'none', ringSize: 2 }, modelsDir: dir }));
    expect(e.name).to.equal('ModelIntegrityError');
    expect(e.message).to.include('meet.bin');
    expect(e.message).to.include('npm install');
  });
});

describe('inference/inferenceWorker restart edge cases', function () {
  this.timeout(60_000);
  let dir: string;
  const models = path.join(projectRoot(), 'models');
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'maskstream-worker-'));
    for (const f of ['meet.json', 'meet.bin']) copyFileSync(path.join(models, f), path.join(dir, f));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a restart that cannot load the model rejects that call; a later call tries again', async () => {
    const w = await InferenceWorker.start({ model: 'meet', backend: 'wasm', temporal: { mode: 'none', ringSize: 2 }, modelsDir: dir });
    try {
      w.crashForTesting();
      writeFileSync(path.join(dir, 'meet.bin'), 'gone bad while running');
      // Posted after the crash request, so it is in flight when the worker dies.
      expect(await rejection(w.process('r', grey(256, 144)))).to.be.instanceOf(WorkerCrashedError);
      const e = await rejection(w.process('r', grey(256, 144))); // restart: model load fails
      expect(e.name).to.equal('ModelIntegrityError');
      expect(w.restarts).to.equal(0);
      copyFileSync(path.join(models, 'meet.bin'), path.join(dir, 'meet.bin'));
      const r = await w.process('r', grey(256, 144));
      expect(r.mask.length).to.equal(256 * 144);
      expect(w.restarts).to.equal(1);
    } finally {
      await w.close();
    }
  });

  it('close() during a restart ends the replacement and rejects the waiting call', async () => {
    const w = await InferenceWorker.start({ model: 'meet', backend: 'wasm', temporal: { mode: 'none', ringSize: 2 }, modelsDir: dir });
    w.crashForTesting();
    const crashed = await rejection(w.process('x', grey(256, 144)));
    expect(crashed).to.be.instanceOf(WorkerCrashedError);
    const waiting = w.process('x', grey(256, 144)); // starts the replacement
    await w.close();
    expect(await rejection(waiting)).to.be.instanceOf(InferenceWorkerClosedError);
    expect(w.restarts).to.equal(0);
  });
});
