/**
 * Regression: a closed DecoderStage (and whatever its callbacks reach: in the server, its
 * session and the session's peer connection) must be garbage-collectable. @napi-rs/webcodecs
 * holds a VideoDecoder's callbacks in strong global handles until the decoder object is
 * collected, so callbacks that captured the decoder formed a cycle that leaked the decoder,
 * the stage and everything it reached (~140 kB per session, found by the churn test).
 */
import { expect } from 'chai';
import { DecoderStage } from '../../../src/decode/videoDecoder.js';
import { ClipEncoder } from '../../../src/testing/encoder.js';
import type { I420Picture } from '../../../src/decode/types.js';
import type { EncodedFrame } from '../../../src/ingest/types.js';
import { fullGc } from '../../../src/reliability/resources.js';

function grey(w: number, h: number): I420Picture {
  const cw = w >> 1;
  const ch = h >> 1;
  return { width: w, height: h, y: new Uint8Array(w * h).fill(128), u: new Uint8Array(cw * ch).fill(128), v: new Uint8Array(cw * ch).fill(128), yStride: w, uvStride: cw };
}

describe('decode/videoDecoder DecoderStage release', function () {
  this.timeout(30_000);

  it('a closed stage is collected although the native decoder keeps its callbacks', async () => {
    const enc = new ClipEncoder({ codec: 'vp8', width: 64, height: 64, bitrate: 200_000, fps: 30 });
    const chunk = (await enc.encode(grey(64, 64), { keyFrame: true }))[0]!;
    enc.close();
    const frame: EncodedFrame = { codec: 'vp8', data: Buffer.from(chunk.data), keyframe: true, rtpTimestamp: 0, extTimestamp: 0, ssrc: 1, firstPacketMs: 0, completeMs: 0 };
    // In a function of its own, so no frame of this test's async function holds the last stage.
    const useOnce = async (i: number): Promise<WeakRef<object>[]> => {
      // A big payload hanging off the stage's callbacks, as a session's state does.
      const owner = { ballast: new Uint8Array(1 << 20) };
      let pictures = 0;
      const stage = new DecoderStage<number>({ onPicture: () => void (pictures += owner.ballast.length > 0 ? 1 : 0), onError: () => undefined });
      expect(stage.decode(frame, i)).to.equal('queued');
      const end = Date.now() + 3000;
      while (pictures === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(pictures, 'decoded').to.equal(1);
      stage.close();
      return [new WeakRef(stage), new WeakRef(owner)];
    };
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 5; i++) refs.push(...(await useOnce(i)));
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 20));
      fullGc();
    }
    expect(refs.filter((r) => r.deref() !== undefined).length, 'stages and their owners still alive after close + GC').to.equal(0);
  });
});
