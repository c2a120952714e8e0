import { expect } from 'chai';
import { RtpReorderBuffer, type ReorderOutput } from '../../../src/ingest/rtpReorder.js';
import type { RtpIn } from '../../../src/ingest/types.js';

function pkt(seq: number, arrivalMs = 0, timestamp = 0): RtpIn {
  return { seq: seq & 0xffff, timestamp, marker: false, ssrc: 1, payloadType: 96, payload: Buffer.from([seq & 0xff]), arrivalMs };
}

/** Compact view: sequence numbers out, and `gap:N` for gaps. */
function view(outs: ReorderOutput[]): (number | string)[] {
  return outs.map((o) => (o.kind === 'packet' ? o.packet.seq : `gap:${o.lost}`));
}

describe('ingest/rtpReorder RtpReorderBuffer', () => {
  it('passes in-order packets straight through', () => {
    const r = new RtpReorderBuffer({ maxWaitMs: 50 });
    const out = [1, 2, 3, 4].flatMap((s) => view(r.push(pkt(s), 0)));
    expect(out).to.deep.equal([1, 2, 3, 4]);
    expect(r.size).to.equal(0);
  });

  it('reorders a late packet that arrives within the wait', () => {
    const r = new RtpReorderBuffer({ maxWaitMs: 50 });
    const out = [10, 12, 13, 11, 14].flatMap((s) => view(r.push(pkt(s, 5), 5)));
    expect(out).to.deep.equal([10, 11, 12, 13, 14]);
    expect(r.toJSON()).to.include({ reordered: 1, lost: 0 });
  });

  it('drops duplicates, before and after emission', () => {
    const r = new RtpReorderBuffer({ maxWaitMs: 50 });
    const out = [1, 1, 3, 3, 2, 2].flatMap((s) => view(r.push(pkt(s), 0)));
    expect(out).to.deep.equal([1, 2, 3]);
    const st = r.toJSON();
    expect(st.duplicates + st.late).to.equal(3);
  });

  it('declares a gap once the successor has waited maxWaitMs, then continues', () => {
    const r = new RtpReorderBuffer({ maxWaitMs: 50 });
    expect(view(r.push(pkt(1, 0), 0))).to.deep.equal([1]);
    expect(view(r.push(pkt(3, 10), 10))).to.deep.equal([]);
    expect(view(r.push(pkt(4, 20), 20))).to.deep.equal([]);
    expect(view(r.flush(59))).to.deep.equal([]);
    expect(view(r.flush(60))).to.deep.equal(['gap:1', 3, 4]);
    // The lost packet arriving afterwards is late: not emitted again.
    expect(view(r.push(pkt(2, 70), 70))).to.deep.equal([]);
    expect(r.toJSON()).to.include({ lost: 1, late: 1 });
  });

  it('unwraps the 16-bit sequence number across 65535 → 0', () => {
    const r = new RtpReorderBuffer({ maxWaitMs: 50 });
    const seqs = [65533, 65534, 0, 65535, 1, 2];
    const out = seqs.flatMap((s) => view(r.push(pkt(s), 0)));
    expect(out).to.deep.equal([65533, 65534, 65535, 0, 1, 2]);
  });

  it('holds at most `capacity` packets: the oldest hole is given up when full', () => {
    const r = new RtpReorderBuffer({ maxWaitMs: 10_000, capacity: 4 });
    r.push(pkt(0), 0);
    const out = [2, 3, 4, 5, 6].flatMap((s) => view(r.push(pkt(s), 0)));
    expect(out).to.deep.equal(['gap:1', 2, 3, 4, 5, 6]);
    expect(r.size).to.equal(0);
  });

  it('resynchronises on a huge jump (sender restart) instead of waiting', () => {
    const r = new RtpReorderBuffer({ maxWaitMs: 50, maxJump: 100 });
    r.push(pkt(10), 0);
    r.push(pkt(12), 0); // held, waiting for 11
    const out = view(r.push(pkt(30_000), 0));
    expect(out).to.deep.equal(['gap:1', 30_000]);
    expect(view(r.push(pkt(30_001), 0))).to.deep.equal([30_001]);
    expect(r.toJSON().resyncs).to.equal(1);
  });

  it('emits every packet exactly once under random reordering and duplication', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const r = new RtpReorderBuffer({ maxWaitMs: 1000 });
    const start = 65000; // crosses the wrap
    const order = Array.from({ length: 2000 }, (_, i) => start + i);
    // Local shuffles within a window of 8, plus 5 % duplicates.
    for (let i = 0; i < order.length - 8; i += 4) {
      const j = i + Math.floor(rand() * 8);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const sent = order.flatMap((s) => (rand() < 0.05 ? [s, s] : [s]));
    const out: number[] = [];
    for (const s of sent) for (const o of r.push(pkt(s), 0)) if (o.kind === 'packet') out.push(o.packet.seq);
    for (const o of r.flush(10_000)) if (o.kind === 'packet') out.push(o.packet.seq);
    // The first packet sets the start; anything that was shuffled before it is "late".
    const first = order[0]!;
    const expected = Array.from({ length: 2000 }, (_, i) => (start + i) & 0xffff).filter((_, i) => start + i >= first);
    expect(out).to.deep.equal(expected);
  });
});
