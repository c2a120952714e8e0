import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { TF_AUTO_ORDER, BackendUnavailableError, selectBackend } from '../../../src/inference/backend.js';

describe('inference/backend selectBackend (TF.js backends, for TF.js models: RVM, training, tests)', () => {
  after(async () => {
    // Leave the thread on wasm for the test files that follow.
    await selectBackend('wasm');
  });

  it("auto picks wasm here and reports why the native backends were skipped", async () => {
    const sel = await selectBackend('auto');
    expect(sel.backend).to.equal('wasm');
    expect(tf.getBackend()).to.equal('wasm');
    expect(sel.attempts.map((a) => a.backend)).to.deep.equal(TF_AUTO_ORDER.slice(0, 3));
    const gpu = sel.attempts[0]!;
    expect(gpu.ok).to.equal(false);
    // Not installed (npm dropped the optional package when its libtensorflow download failed) or
    // installed without its native addon (npm kept the package): both are reported with the cause.
    expect(gpu.reason).to.match(/@tensorflow\/tfjs-node-gpu (is not installed|failed to load: .*tfjs_binding\.node)/);
    expect(sel.attempts[1]!.reason).to.match(/@tensorflow\/tfjs-node (is not installed|failed to load)/);
    expect(sel.attempts[2]).to.deep.equal({ backend: 'wasm', ok: true });
  });

  it('an explicit backend that is unavailable is a clear error, and the active backend is kept', async () => {
    await selectBackend('wasm');
    let err: unknown;
    try {
      await selectBackend('tensorflow-gpu');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(BackendUnavailableError);
    const e = err as BackendUnavailableError;
    expect(e.name).to.equal('BackendUnavailableError');
    expect(e.message).to.match(/backend "tensorflow-gpu" is not available here: @tensorflow\/tfjs-node-gpu (is not installed|failed to load)/);
    expect(e.message).to.match(/Fix: install the optional dependency/);
    expect(e.attempts).to.have.length(1);
    expect(tf.getBackend()).to.equal('wasm');
  });

  it('an explicit available backend is selected with a single attempt', async () => {
    const sel = await selectBackend('wasm');
    expect(sel).to.deep.equal({ backend: 'wasm', attempts: [{ backend: 'wasm', ok: true }] });
  });
});
