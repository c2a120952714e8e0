import { expect } from 'chai';
import { latencyCell, multiAcceptance, multiFigures, multiPerClip, multiSummary, type MultiVariantResult } from '../../../src/bench/qualityMulti.js';
import { personSequenceMetrics, poolPeople, type PersonFrameCounts } from '../../../src/quality/personMetrics.js';

const FRAME = 640 * 480;
const counts = (s: string): PersonFrameCounts[] => [...s].map((c) => (c === '.' ? { truthPx: 0, maskedPx: 0 } : { truthPx: 1000, maskedPx: c === 'o' ? 900 : 0 }));
const person = (name: string, s: string, inFrame?: number[]) => personSequenceMetrics(name, counts(s), inFrame ?? new Array<number>(s.length).fill(1), FRAME);

function variant(name: string, J: number, people: ReturnType<typeof person>[][]): MultiVariantResult {
  return {
    variant: { name },
    clips: [
      { clip: 'single', kind: 'moving', J: 0.1, F: 0.1, TE: 0.5 },
      ...people.map((p, i) => ({ clip: `m${i}`, kind: 'multi', J, F: J, TE: 0.001, people: poolPeople(p) })),
    ],
  };
}

describe('bench:quality multi-person tables', () => {
  const enter = [0, 0, 0.5, 1, 1, 1];
  const good = variant('cand', 0.85, [[person('a', 'oooooo'), person('b', '..xooo', enter)], [person('c', 'oooooo')]]);
  const off = variant('off', 0.7, [[person('a', 'oooooo'), person('b', '..xxxx', enter)], [person('c', 'xxxxoo')]]);

  it('pools only the multi clips: mean J over clips, recall over person-frames, worst run and latency', () => {
    const m = multiFigures(good);
    expect([m.clips, m.J, m.pooled.visible, m.pooled.found, m.pooled.longestMiss, m.pooled.enterLatencies]).to.deep.equal([2, 0.85, 16, 15, 1, [0]]);
    expect(multiFigures(off).pooled.enterLatencies).to.deep.equal([null]);
  });

  it('latency cells say "never" and list every entering person when there are several', () => {
    expect(latencyCell([])).to.equal('–');
    expect(latencyCell([3])).to.equal('3');
    expect(latencyCell([3, 7])).to.equal('7 (3, 7)');
    expect(latencyCell([3, null])).to.equal('never (3, never)');
  });

  it('acceptance: met when every figure is within target and the whole-picture run is beaten; NOT met otherwise', () => {
    const rows = multiAcceptance([good, off], 'cand', 'off');
    expect(rows.filter((r) => r.endsWith('| NOT met |'))).to.deep.equal([]);
    expect(rows.filter((r) => r.endsWith('| met |')).length).to.equal(5);
    const bad = multiAcceptance([off, good], 'off', 'cand');
    expect(bad.filter((r) => r.endsWith('| NOT met |')).length).to.equal(4); // recall 0.5, J 0.7, not better, never found
    expect(multiAcceptance([good], 'cand', 'off').join('\n')).to.include('run "off" too');
  });

  it('tables have a row per variant / clip with the measured values', () => {
    const s = multiSummary([good, off]);
    expect(s).to.have.length(4);
    expect(s[2]).to.equal('| cand | 0.8500 | 0.8500 | 0.100 | 0.938 | 15 / 16 | 1 | 1 | 0 |');
    const c = multiPerClip([good, off]);
    expect(c.slice(2)).to.deep.equal(['| m0 (2) | 0.900 / 0.850 / 1 / 0 | 0.600 / 0.700 / 4 / never |', '| m1 (1) | 1.000 / 0.850 / 0 | 0.333 / 0.700 / 4 |']);
  });
});
