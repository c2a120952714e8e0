import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { EngineClosedError, SegmentationEngine, UnknownSessionError, DuplicateSessionError } from '../../../src/inference/engine.js';
import { TemporalConfigError } from '../../../src/temporal/temporalStage.js';
import { grey, portrait, score } from './portrait.js';
import { openOrtSessions } from '../../../src/inference/onnx/ortSession.js';
import { rgbToI420 } from '../../../src/decode/yuvToRgb.js';
import { DEFAULT_ROI } from '../../../src/roi/roiTracker.js';

describe('inference/engine SegmentationEngine', () => {
  const RING = 4;
  let engine: SegmentationEngine;
  let baseline: number;

  before(async () => {
    engine = await SegmentationEngine.create({ model: 'meet', backend: 'auto', temporal: { mode: 'attention', ringSize: RING } });
    baseline = tf.memory().numTensors;
  });
  after(() => engine?.close());

  it('describes itself', () => {
    expect(engine.info).to.deep.equal({
      backend: 'ort-cpu',
      provider: 'onnxruntime-node 1.30.0 CPUExecutionProvider, 1 thread',
      model: 'meet',
      inputWidth: 256,
      inputHeight: 144,
      maskWidth: 256,
      maskHeight: 144,
      featureNode: 'add_5__xeno_compat__1',
      featureShape: [18, 32, 24],
    });
    expect(engine.backendAttempts.at(-1)).to.deep.equal({ backend: 'ort-cpu', ok: true });
  });

  it('turns a portrait into an 8-bit mask of the person at mask resolution', () => {
    const img = portrait(256, 144, 0.75);
    engine.openSession('p');
    try {
      const r = engine.process('p', img.rgb);
      expect(r.mask).to.be.instanceOf(Uint8Array);
      expect([r.width, r.height, r.mask.length]).to.deep.equal([256, 144, 256 * 144]);
      expect(Number.isFinite(r.inferenceMs) && r.inferenceMs >= 0).to.equal(true);
      expect(Number.isFinite(r.temporalMs) && r.temporalMs >= 0).to.equal(true);
      const s = score(r.mask, img, 255);
      expect(s.precision, JSON.stringify(s)).to.be.at.least(0.9);
      expect(s.face, JSON.stringify(s)).to.be.at.least(0.9);
      expect(Math.max(...r.mask)).to.be.at.least(250); // confident person pixels reach ≈ 255
    } finally {
      engine.closeSession('p');
    }
  });

  it('300 frames then closeSession: tensor count back to the post-load baseline, memory fixed', function () {
    this.timeout(180_000);
    const img = portrait(256, 144, 0.75);
    const g = grey(256, 144);
    expect(tf.memory().numTensors).to.equal(baseline);
    engine.openSession('s300');
    // The ring is allocated up front as plain arrays: keys [RING, 18·32, 24] float32, values [RING, 256·144] bytes.
    expect(engine.memory().temporalBytes).to.be.at.least(RING * (18 * 32 * 24 * 4 + 256 * 144));
    const fixed = engine.memory().temporalBytes;
    let bytes = -1;
    for (let i = 0; i < 300; i++) {
      const r = engine.process('s300', i % 2 ? img.rgb : g);
      expect(r.mask.length).to.equal(256 * 144);
      // Steady state: no growth in tensors, tensor bytes or session memory however many frames go through.
      expect(tf.memory().numTensors).to.equal(baseline);
      if (i === RING) bytes = tf.memory().numBytes;
      if (i > RING) expect(tf.memory().numBytes).to.equal(bytes);
      expect(engine.memory().temporalBytes).to.equal(fixed);
    }
    expect(engine.closeSession('s300')).to.equal(true);
    expect(tf.memory().numTensors).to.equal(baseline);
    expect(engine.memory().temporalBytes).to.equal(0);
  });

  it('keeps sessions independent: what one session sees never changes another one’s masks', () => {
    const img = portrait(256, 144, 0.75);
    engine.openSession('a');
    engine.openSession('b');
    engine.openSession('ref');
    expect(engine.sessionCount).to.equal(3);
    expect(() => engine.openSession('a')).to.throw(DuplicateSessionError);
    engine.process('a', img.rgb);
    engine.process('ref', img.rgb);
    engine.process('b', grey(256, 144)); // b's memory now holds an empty frame
    expect(engine.closeSession('b')).to.equal(true);
    expect(engine.closeSession('b')).to.equal(false);
    expect(() => engine.process('b', img.rgb)).to.throw(UnknownSessionError, /openSession/);
    const a2 = engine.process('a', img.rgb);
    const ref2 = engine.process('ref', img.rgb);
    expect(Buffer.from(a2.mask).equals(Buffer.from(ref2.mask))).to.equal(true);
    engine.closeSession('a');
    engine.closeSession('ref');
    expect(tf.memory().numTensors).to.equal(baseline);
  });

  it('validates the temporal config before loading anything', async () => {
    // ringSize 0 is refused by the cheap checks that run before the backend and the model load.
    let err: unknown;
    try {
      await SegmentationEngine.create({ model: 'meet', backend: 'wasm', temporal: { mode: 'none', ringSize: 0 } });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(TemporalConfigError);
  });

  it('close() frees every session and the model, once', async () => {
    const before = tf.memory().numTensors;
    const e = await SegmentationEngine.create({ model: 'selfie', backend: 'wasm', temporal: { mode: 'none', ringSize: 2 } });
    e.openSession('x');
    e.process('x', grey(256, 256));
    e.close();
    e.close();
    expect(tf.memory().numTensors).to.equal(before);
    expect(() => e.openSession('y')).to.throw(EngineClosedError);
    expect(e.closeSession('x')).to.equal(false);
  });

  it('close() on ONNX Runtime frees the native session and leaves no tensor', async () => {
    const before = { tensors: tf.memory().numTensors, sessions: openOrtSessions() };
    const e = await SegmentationEngine.create({ model: 'meet', backend: 'ort-cpu', temporal: { mode: 'attention-fine', ringSize: 1 }, roi: DEFAULT_ROI });
    // The backbone's session, the person detector's and the second model's.
    expect(e.info.detector).to.equal(DEFAULT_ROI.detector);
    expect(e.info.secondModel).to.equal(DEFAULT_ROI.secondModel);
    expect(e.memory().nativeSessions).to.equal(before.sessions + 3);
    e.openSession('x');
    for (let i = 0; i < 3; i++) {
      const img = portrait(256, 144, 0.6 + 0.1 * i);
      e.segment('x', rgbToI420(img.rgb, 256, 144));
    }
    e.close();
    e.close();
    expect(openOrtSessions()).to.equal(before.sessions);
    expect(tf.memory().numTensors).to.equal(before.tensors);
  });
});
