/**
 * The inference pool with real worker threads and the real model: cross-session batches come
 * back to the right sessions with each session's own temporal state, a crashed worker is
 * replaced while the other keeps serving, frames travel as I420 and are converted in the worker.
 * Nothing here depends on timing: batches are forced by offering frames in the same tick with
 * a batch window far longer than the test.
 */
import { expect } from 'chai';
import { InferencePool, autoWorkers } from '../../../src/inference/inferencePool.js';
import { NaiveInference } from '../../../src/inference/naiveInference.js';
import { SegmentationEngine } from '../../../src/inference/engine.js';
import { WorkerCrashedError } from '../../../src/inference/inferenceWorker.js';
import { packI420Picture } from '../../../src/inference/packedI420.js';
import { rgbToI420 } from '../../../src/decode/yuvToRgb.js';
import { i420ToRgb } from '../../../src/decode/yuvToRgb.js';
import type { InferenceOutcome, SegmentResult } from '../../../src/inference/types.js';
import { grey, portrait, score } from './portrait.js';
import { rejection } from '../../helpers/rejection.js';

const W = 256;
const H = 144;

function mask(o: InferenceOutcome): SegmentResult {
  if (o.kind !== 'mask') throw new Error(`expected a mask, got dropped: ${o.reason}`);
  return o.result;
}


describe('inference/inferencePool InferencePool', function () {
  this.timeout(120_000);

  describe('cross-session batching (1 worker, maxBatch 2, attention)', () => {
    let pool: InferencePool;
    let reference: SegmentationEngine;

    before(async () => {
      const temporal = { mode: 'attention' as const, ringSize: 3 };
      // A window of 60 s: a batch only ever runs because it is full (2 frames), never by time.
      pool = await InferencePool.start({ model: 'meet', backend: 'wasm', temporal, maxBatch: 2, workers: 1, batchWindowMs: 60_000 });
      reference = await SegmentationEngine.create({ model: 'meet', backend: 'wasm', temporal });
    });
    after(async () => {
      await pool?.close();
      reference?.close();
    });

    it('runs frames of two sessions as one batch and gives each session the mask its own state gives', async () => {
      expect(pool.maxBatch).to.equal(2);
      expect(pool.batchGraphSizes, 'meet runs a batch of 2 as one graph execution').to.deep.equal([2]);
      const person = portrait(W, H, 0.75);
      const empty = grey(W, H);
      // Session a sees the person, then an empty room, then the person; b the opposite, so each
      // session's temporal memory differs and a mix-up would change the masks.
      const seqA = [person.rgb, empty, person.rgb, person.rgb];
      const seqB = [empty, person.rgb, empty, empty];
      reference.openSession('a');
      reference.openSession('b');
      const got: { a: SegmentResult[]; b: SegmentResult[] } = { a: [], b: [] };
      const send = (id: 'a' | 'b', rgb: Uint8Array) => pool.submit(id, { rgb: rgb.slice() }).then((o) => got[id].push(mask(o)));
      // a's first frame runs alone (b is not pinned yet). From then on a's next frame and b's
      // current one are offered in the same tick: the first waits for a partner (both sessions
      // are pinned to the one worker), the second fills the batch.
      await send('a', seqA[0]!);
      for (let i = 0; i < seqB.length; i++) {
        // a has no frame left for b's last: once a is closed, nothing is worth waiting for.
        if (i + 1 === seqA.length) pool.closeSession('a');
        const round = [send('b', seqB[i]!)];
        if (i + 1 < seqA.length) round.push(send('a', seqA[i + 1]!));
        await Promise.all(round);
      }
      expect(got.a.map((r) => r.batchSize ?? 1)).to.deep.equal([1, 2, 2, 2]);
      expect(got.b.map((r) => r.batchSize ?? 1)).to.deep.equal([2, 2, 2, 1]);
      for (const [id, seq] of [['a', seqA], ['b', seqB]] as const) {
        seq.forEach((rgb, i) => {
          const want = reference.process(id, rgb);
          const have = got[id][i]!;
          expect(Buffer.from(have.mask).equals(Buffer.from(want.mask)), `session ${id} frame ${i}: its own mask`).to.equal(true);
          // And the content says so: a frame with the person has the person.
          if (rgb === person.rgb) expect(score(have.mask, person, 255).face).to.be.at.least(0.9);
          else expect(score(have.mask, person, 255).face).to.be.below(0.5);
        });
      }
      pool.closeSession('a');
      pool.closeSession('b');
    });

    it('a newer frame of a waiting session supersedes the older one (latest frame wins)', async () => {
      const p1 = pool.submit('x', { rgb: grey(W, H) }); // runs at once (only session)
      const p2 = pool.submit('x', { rgb: grey(W, H, 30) }); // waits: the worker is busy
      const p3 = pool.submit('x', { rgb: grey(W, H, 60) }); // replaces p2
      expect(pool.waitingOf('x')).to.equal(1);
      const [o1, o2, o3] = await Promise.all([p1, p2, p3]);
      expect(o1.kind).to.equal('mask');
      expect(o2).to.deep.equal({ kind: 'dropped', reason: 'superseded' });
      expect(o3.kind).to.equal('mask');
      const p4 = pool.submit('x', { rgb: grey(W, H) });
      const p5 = pool.submit('x', { rgb: grey(W, H) });
      pool.closeSession('x');
      expect((await p5)).to.deep.equal({ kind: 'dropped', reason: 'closed' });
      expect((await p4).kind).to.equal('mask');
    });
  });

  describe('worker crash (2 workers)', () => {
    let pool: InferencePool;

    before(async () => {
      pool = await InferencePool.start({ model: 'meet', backend: 'wasm', temporal: { mode: 'ema', ringSize: 2 }, workers: 2, batchWindowMs: 0 });
    });
    after(async () => {
      await pool?.close();
    });

    it('fails the frame in flight, counts the lost temporal state, starts a replacement, and the other worker keeps serving', async () => {
      expect(pool.workers).to.equal(2);
      const resets: number[] = [];
      // Listeners that throw, before the ones that count: the restart and the others still happen.
      const thrown: string[] = [];
      const origError = console.error;
      console.error = (...a: unknown[]) => thrown.push(a.map(String).join(' '));
      pool.onCrash(() => {
        throw new Error('a crash listener that throws');
      });
      pool.onSessionsReset(() => {
        throw new Error('a reset listener that throws');
      });
      pool.onSessionsReset((n) => resets.push(n));
      const restarted = new Promise<void>((resolve) => pool.onRestart(() => resolve()));
      mask(await pool.submit('a', { rgb: grey(W, H) }));
      mask(await pool.submit('b', { rgb: grey(W, H) }));
      expect([pool.workerOf('a'), pool.workerOf('b')]).to.deep.equal([0, 1]);

      pool.crashForTesting(0);
      // Posted after the crash request: in flight when worker 0 dies.
      const lost = await rejection(pool.submit('a', { rgb: grey(W, H) }));
      expect(lost).to.be.instanceOf(WorkerCrashedError);
      // Worker 1 is untouched meanwhile.
      mask(await pool.submit('b', { rgb: grey(W, H) }));
      await restarted; // started at once, not on the next frame
      console.error = origError;
      expect(thrown.join('\n')).to.match(/a crash listener that throws[\s\S]*a reset listener that throws/);
      expect(pool.restarts).to.equal(1);
      expect(resets, 'session a lost its temporal state').to.deep.equal([1]);
      expect(pool.temporalResets).to.equal(1);

      const img = portrait(W, H, 0.75);
      const r = mask(await pool.submit('a', { rgb: img.rgb.slice() }));
      expect(score(r.mask, img, 255).face, 'the replacement serves session a again').to.be.at.least(0.9);
      const mem = await pool.memory();
      expect(mem.sessions, 'a reopened on the replacement, b still on worker 1').to.equal(2);
      pool.closeSession('a');
      pool.closeSession('b');
    });

    it('converts I420 frames in the worker and reports the time it took', async () => {
      const img = portrait(640, 360, 0.75);
      const pic = rgbToI420(img.rgb, 640, 360);
      const packed = packI420Picture(pic);
      const expected = i420ToRgb(pic, W, H).data;
      const viaRgb = mask(await pool.submit('r', { rgb: expected }));
      const viaI420 = mask(await pool.submit('i', { i420: packed }));
      expect(packed.data.byteLength, 'the I420 buffer was transferred, not copied').to.equal(0);
      expect(viaI420.preprocessMs).to.be.greaterThan(0);
      expect(Buffer.from(viaI420.mask).equals(Buffer.from(viaRgb.mask))).to.equal(true);
      pool.closeSession('r');
      pool.closeSession('i');
    });
  });

  it('auto-sizes: one worker on tensorflow backends, one per core on wasm', () => {
    expect(autoWorkers('tensorflow-gpu', 8)).to.equal(1);
    expect(autoWorkers('tensorflow', 8)).to.equal(1);
    expect(autoWorkers('wasm', 2)).to.equal(2);
    expect(autoWorkers('wasm', 8)).to.equal(8);
    expect(autoWorkers('cpu', 1)).to.equal(1);
  });
});

describe('inference/naiveInference NaiveInference (benchmark baseline)', function () {
  this.timeout(60_000);

  it('runs every frame of every session first in, first out, and drops nothing', async () => {
    const naive = await NaiveInference.start({ model: 'meet', backend: 'wasm', temporal: { mode: 'none', ringSize: 2 } });
    try {
      const order: string[] = [];
      const ps = ['a1', 'b1', 'a2', 'a3', 'b2'].map((tag) => naive.submit(tag[0]!, { rgb: grey(W, H) }).then((o) => {
        expect(o.kind).to.equal('mask');
        order.push(tag);
      }));
      expect(naive.waitingFrames).to.equal(5);
      await Promise.all(ps);
      expect(order).to.deep.equal(['a1', 'b1', 'a2', 'a3', 'b2']);
      expect(naive.waitingFrames).to.equal(0);
      naive.closeSession('a');
      naive.closeSession('b');
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      expect((await naive.memory()).sessions).to.equal(0);
    } finally {
      await naive.close();
    }
  });
});
