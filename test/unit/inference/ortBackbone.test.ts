/**
 * The backbone on ONNX Runtime (the default on CPUs) and how a backend is chosen: the real
 * translated models on the real runtime, real photos, and every fallback path naming what runs.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackboneDisposedError, FrameSizeError } from '../../../src/inference/backbone.js';
import { OrtBackbone } from '../../../src/inference/ortBackbone.js';
import { AUTO_ORDER, BackendUnavailableError, openBackbone, selectBackend } from '../../../src/inference/backend.js';
import { ModelIntegrityError, ModelStore } from '../../../src/inference/modelStore.js';
import { loadOnnxModel } from '../../../src/inference/onnx/onnxModels.js';
import { openOrtSessions } from '../../../src/inference/onnx/ortSession.js';
import { projectRoot } from '../../../src/paths.js';
import type { ModelName } from '../../../src/inference/types.js';
import { grey, portrait, score } from './portrait.js';
import { rejection } from '../../helpers/rejection.js';

const sigmoid = (l: Float32Array) => l.map((v) => 1 / (1 + Math.exp(-v)));

for (const name of ['meet', 'selfie'] as ModelName[]) {
  describe(`inference/ortBackbone OrtBackbone (${name})`, function () {
    this.timeout(60_000);
    let bb: OrtBackbone;
    before(() => {
      bb = OrtBackbone.load(name, { provider: 'cpu', threads: 1, maxBatch: 3 });
    });
    after(() => bb?.dispose());

    it('reports its sizes and what runs it', () => {
      expect(bb.info.model).to.equal(name);
      expect([bb.info.maskWidth, bb.info.maskHeight]).to.deep.equal([bb.info.inputWidth, bb.info.inputHeight]);
      expect(bb.runtime.backend).to.equal('ort-cpu');
      expect(bb.runtime.provider).to.match(/^onnxruntime-node 1\.30\.0 CPUExecutionProvider, 1 thread$/);
      expect(bb.batchSupport).to.deep.equal({ maxBatch: 3, graphSizes: [2, 3] });
    });

    it('segments the person in a real portrait, and a grey frame is background', () => {
      const img = portrait(bb.info.inputWidth, bb.info.inputHeight, 0.75);
      const s = score(sigmoid(bb.runBatch([img.rgb])[0]!.logits), img);
      // Same bounds as the TF.js backbone's test (measured there: precision 1.00, face ≥ 0.96).
      expect(s.precision, JSON.stringify(s)).to.be.at.least(0.9);
      expect(s.recall, JSON.stringify(s)).to.be.at.least(0.5);
      expect(s.face, JSON.stringify(s)).to.be.at.least(0.9);
      const p = sigmoid(bb.runBatch([grey(bb.info.inputWidth, bb.info.inputHeight)])[0]!.logits);
      expect(p.filter((v) => v >= 0.5).length / p.length).to.be.below(0.02);
    });

    it('gives each frame of a batch what a single run gives it', () => {
      const { inputWidth: w, inputHeight: h } = bb.info;
      const frames = [portrait(w, h, 0.75).rgb, grey(w, h), portrait(w, h, 0.5).rgb];
      const singles = frames.map((f) => bb.runBatch([f])[0]!);
      const batch = bb.runBatch(frames);
      batch.forEach((o, i) => {
        let d = 0;
        for (let j = 0; j < o.logits.length; j++) d = Math.max(d, Math.abs(o.logits[j]! - singles[i]!.logits[j]!) / Math.max(1, Math.abs(singles[i]!.logits[j]!)));
        for (let j = 0; j < o.features.length; j++) d = Math.max(d, Math.abs(o.features[j]! - singles[i]!.features[j]!));
        expect(d, `frame ${i}`).to.be.below(1e-4);
      });
      expect(batch[0]!.logits.some((v, j) => v !== batch[1]!.logits[j])).to.equal(true);
      // Four frames, more than the checked batch sizes: back to back, same results.
      expect(bb.runBatch([...frames, frames[0]!]).map((o) => o.logits[100])).to.deep.equal([...singles, singles[0]!].map((o) => o.logits[100]));
    });

    it('rejects a frame of the wrong size with an actionable error', () => {
      expect(() => bb.runBatch([new Uint8Array(10)])).to.throw(FrameSizeError, /resize to the engine's inputWidth × inputHeight/);
    });
  });
}

describe('inference/ortBackbone lifetime', () => {
  it('dispose() frees the native session once; a disposed backbone refuses to run', () => {
    const before = openOrtSessions();
    const bb = OrtBackbone.load('meet', { provider: 'cpu', threads: 1 });
    expect(openOrtSessions()).to.equal(before + 1);
    bb.dispose();
    bb.dispose();
    expect(openOrtSessions()).to.equal(before);
    expect(() => bb.runBatch([grey(256, 144)])).to.throw(BackboneDisposedError);
  });
});

describe('inference/onnx model cache', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'maskstream-onnx-'));
    for (const f of ['meet.json', 'meet.bin']) copyFileSync(path.join(projectRoot(), 'models', f), path.join(dir, f));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('translates a missing model on first use, caches it, then reads the cache', () => {
    const store = ModelStore.open(dir);
    const first = loadOnnxModel(store, 'meet');
    expect(first.origin).to.equal('translated');
    const second = loadOnnxModel(store, 'meet');
    expect(second.origin).to.equal('cache');
    expect(Buffer.from(second.bytes).equals(Buffer.from(first.bytes))).to.equal(true);
  });

  it('replaces a corrupt cached translation; refuses when the TF.js weights are not the recorded ones', async () => {
    const store = ModelStore.open(dir);
    writeFileSync(path.join(dir, 'meet.onnx'), 'garbage');
    expect(loadOnnxModel(store, 'meet').origin).to.equal('translated');
    expect(readFileSync(path.join(dir, 'meet.onnx')).length).to.be.greaterThan(100_000);
    rmSync(path.join(dir, 'meet.onnx'));
    writeFileSync(path.join(dir, 'meet.bin'), Buffer.from('not the weights'), { flag: 'r+' });
    const e = await rejection(Promise.resolve().then(() => OrtBackbone.load('meet', { provider: 'cpu', threads: 1, store: ModelStore.open(dir) })));
    expect(e).to.be.instanceOf(ModelIntegrityError);
    expect(e.message).to.match(/meet\.bin has sha256 [0-9a-f]{64}, expected 7fd81c93/);
    // Not a backend failure: 'auto' does not fall back to another backend on it.
    const e2 = await rejection(openBackbone('auto', 'meet', { store: ModelStore.open(dir), maxBatch: () => 1, ortThreads: 1 }));
    expect(e2).to.be.instanceOf(ModelIntegrityError);
    expect(openOrtSessions()).to.equal(0);
  });
});

describe('inference/backend openBackbone', function () {
  this.timeout(60_000);
  const opts = () => ({ store: ModelStore.open(), maxBatch: () => 1, ortThreads: 1 });
  after(async () => {
    await selectBackend('wasm'); // leave the thread as the test files that follow expect it
  });

  it('auto: GPU providers first, then ONNX Runtime on the CPU here, each skipped or failed one named with its reason', async () => {
    const { backbone, attempts } = await openBackbone('auto', 'meet', opts());
    try {
      expect(backbone.runtime.backend).to.equal('ort-cpu');
      expect(attempts.map((a) => a.backend)).to.deep.equal(AUTO_ORDER.slice(0, AUTO_ORDER.indexOf('ort-cpu') + 1));
      expect(attempts.at(-1)).to.deep.equal({ backend: 'ort-cpu', ok: true });
      // No CUDA provider library is installed by npm install (README, "Run on a GPU").
      expect(attempts[0]).to.include({ backend: 'ort-cuda', ok: false });
      expect(attempts[0]!.reason).to.match(/CUDA provider library is not installed|no NVIDIA GPU/);
      // WebGPU: skipped without a GPU device, or tried and refused (no usable adapter).
      expect(attempts[1]).to.include({ backend: 'ort-webgpu', ok: false });
      expect(attempts[1]!.reason).to.be.a('string').and.not.empty;
      expect(attempts[2]!.reason).to.match(/@tensorflow\/tfjs-node-gpu (is not installed|failed to load)/);
      // The temporal stages' tensors live on tf's cpu backend next to an ONNX Runtime backbone.
      expect(tf.getBackend()).to.equal('cpu');
    } finally {
      backbone.dispose();
    }
  });

  it('auto falls back past a provider that fails to start, to the next that works', async () => {
    const { backbone, attempts } = await openBackbone('auto', 'meet', { ...opts(), autoOrder: ['ort-cuda', 'tensorflow', 'wasm'] });
    try {
      expect(backbone.runtime.backend).to.equal('wasm');
      expect(backbone.runtime.provider).to.match(/^tfjs \S+ wasm$/);
      expect(attempts.map((a) => [a.backend, a.ok])).to.deep.equal([['ort-cuda', false], ['tensorflow', false], ['wasm', true]]);
      expect(tf.getBackend()).to.equal('wasm');
    } finally {
      backbone.dispose();
    }
  });

  it('an explicit provider that cannot start is an error naming the reason and the fix; nothing is left open', async () => {
    const before = openOrtSessions();
    const cuda = await rejection(openBackbone('ort-cuda', 'meet', opts()));
    expect(cuda).to.be.instanceOf(BackendUnavailableError);
    expect(cuda.message).to.match(/backend "ort-cuda" is not available here: the CUDA provider library is not installed in .*Fix: install ONNX Runtime's CUDA 12 provider/);
    const webgpu = await rejection(openBackbone('ort-webgpu', 'meet', opts()));
    expect(webgpu).to.be.instanceOf(BackendUnavailableError);
    expect(webgpu.message).to.match(/backend "ort-webgpu" is not available here: .+\. Fix: needs a GPU with a Vulkan driver/);
    expect(webgpu.message, 'the reason is ORT\'s, without its source path').not.to.match(/onnxruntime_src/);
    expect(openOrtSessions()).to.equal(before);
  });

  it('an explicit TF.js backend still works', async () => {
    const { backbone, attempts } = await openBackbone('wasm', 'meet', opts());
    try {
      expect(attempts).to.deep.equal([{ backend: 'wasm', ok: true }]);
      expect(backbone.runtime.backend).to.equal('wasm');
    } finally {
      backbone.dispose();
    }
  });
});
