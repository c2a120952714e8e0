import { expect } from 'chai';
import { latencyBySecond, pooledStats, streamStats, streamTable } from '../../../src/bench/loadReport.js';
import type { MaskRecord } from '../../../src/bench/loadProtocol.js';

/** A mask of frame i with server latency s ms and end-to-end e ms (stage fields 1 ms each). */
const mask = (i: number, s: number, e: number): MaskRecord => [i, e, s, 1, 1, 1, 1, 1, 1];

describe('bench/loadReport', () => {
  it('counts only the measured window, and drops against the frames sent in it', () => {
    // Frames 0..29 are warm-up; 30..89 are measured (2 s at 30 fps); frame 40 has no mask.
    const masks = [mask(5, 999, 999), ...Array.from({ length: 60 }, (_, k) => 30 + k).filter((i) => i !== 40).map((i) => mask(i, i - 20, i - 18))];
    const s = streamStats(1, masks, 30, 90, 2, 12);
    expect(s.framesSent).to.equal(60);
    expect(s.masks).to.equal(59);
    expect(s.fps).to.equal(29.5);
    expect(s.dropPct).to.be.closeTo(100 / 60, 1e-9);
    expect(s.serverMs.p50).to.equal(40); // nearest rank over 10..69 without 20
    expect(s.serverMs.n).to.equal(59);
    expect(s.stageMeansMs.inference).to.equal(1);
  });

  it('pools streams: total fps, drops over every stream’s frames; unmatched e2e (−1) left out', () => {
    const a = { masks: Array.from({ length: 30 }, (_, i) => mask(i, 10, 12)) };
    const b = { masks: Array.from({ length: 15 }, (_, i) => mask(2 * i, 20, -1)) };
    const all = pooledStats([a, b], 0, 30, 1, 20);
    expect(all.fps).to.equal(45);
    expect(all.framesSent).to.equal(60);
    expect(all.dropPct).to.equal(25);
    expect(all.e2eMs.n, 'b’s frames could not be matched').to.equal(30);
    const table = streamTable([streamStats(1, a.masks, 0, 30, 1, 10), streamStats(2, b.masks, 0, 30, 1, 10)], all);
    expect(table.split('\n')).to.have.length(5);
    expect(table).to.match(/\| all \| 45\.0 \| 25\.0 % \|/);
  });

  it('reports server latency by second of the frames’ send time (the naive queue’s growth)', () => {
    const masks = [mask(0, 10, 0), mask(10, 30, 0), mask(30, 100, 0), mask(31, 120, 0)];
    expect(latencyBySecond([{ masks }], 0, 30, 2)).to.deep.equal([
      { t: 0, masks: 2, serverP50Ms: 10 },
      { t: 1, masks: 2, serverP50Ms: 100 },
    ]);
  });
});
