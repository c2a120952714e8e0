import { expect } from 'chai';
import { evalClipDefinitions } from '../../../src/quality/clips/catalog.js';
import { singlePersonClipDefinitions } from '../../../src/quality/clips/evalClips.js';
import { multiPersonClipDefinitions } from '../../../src/quality/clips/multiClips.js';
import { inFrameShare, visibleCutEdges } from '../../../src/quality/clips/checks.js';
import { loadCutouts, type Cutout } from '../../../src/quality/clips/cutouts.js';
import { evalSignal } from '../../../src/quality/clips/motion.js';
import { BACKGROUNDS, PEOPLE, isHeldOut, type PersonId } from '../../../src/quality/clips/sources.js';

describe('quality/clips keyed signals', () => {
  it('interpolates linearly between keys, holds before and after, adds waves, rejects bad keys', () => {
    const s = { keys: [[10, 100], [20, 200], [40, 100]] as [number, number][] };
    expect([0, 10, 15, 20, 30, 40, 90].map((t) => evalSignal(s, t))).to.deep.equal([100, 100, 150, 200, 150, 100, 100]);
    expect(evalSignal({ ...s, waves: [{ amp: 4, period: 8 }] }, 12)).to.be.closeTo(120 + 4 * Math.sin((2 * Math.PI * 12) / 8), 1e-9);
    expect(() => evalSignal({ keys: [[5, 0], [5, 1]] }, 6)).to.throw(/increase/);
    expect(() => evalSignal({ keys: [] }, 0)).to.throw(/at least one/);
  });
});

describe('quality/clips multi-person clips (definitions)', () => {
  const multi = multiPersonClipDefinitions();
  const all = evalClipDefinitions();

  it('are kind "multi", 640×480×90 at 30 fps, with a cast per person; 2, 3 and 4 people; seeds after the single-person clips', () => {
    expect(multi.length).to.be.at.least(5);
    expect(all.map((d) => d.name)).to.deep.equal([...singlePersonClipDefinitions(), ...multi].map((d) => d.name));
    expect(new Set(all.map((d) => d.name)).size).to.equal(all.length);
    expect(new Set(all.map((d) => d.scene.seed)).size).to.equal(all.length);
    const singleSeeds = singlePersonClipDefinitions().map((d) => d.scene.seed);
    for (const d of multi) {
      expect(d.kind, d.name).to.equal('multi');
      expect([d.scene.width, d.scene.height, d.scene.frames, d.scene.fps], d.name).to.deep.equal([640, 480, 90, 30]);
      expect(d.cast?.length, d.name).to.equal(d.scene.people.length);
      expect(new Set(d.cast!.map((c) => c.name)).size, d.name).to.equal(d.cast!.length);
      expect(d.scene.seed, d.name).to.be.above(Math.max(...singleSeeds));
      expect(d.bitrate, d.name).to.be.within(250_000, 800_000);
      expect(d.description.length, d.name).to.be.above(40);
    }
    expect(new Set(multi.map((d) => d.scene.people.length))).to.include.members([2, 3, 4]);
    for (const d of singlePersonClipDefinitions()) expect(d.cast, d.name).to.equal(undefined);
  });

  it('use no held-out source and every training person but the astronaut', () => {
    const used = new Set(multi.flatMap((d) => d.people));
    for (const d of multi) {
      expect(d.people.some((p) => isHeldOut(PEOPLE[p].photo)) || d.backgrounds.some((b) => isHeldOut(BACKGROUNDS[b])), d.name).to.equal(false);
    }
    expect([...used].sort()).to.deep.equal((Object.keys(PEOPLE) as PersonId[]).filter((p) => !isHeldOut(PEOPLE[p].photo)).sort());
  });

  describe('placement (cut-outs from the cache, made with RVM if missing)', function () {
    this.timeout(300_000);
    let cutouts: Map<PersonId, Cutout>;
    before(async () => {
      cutouts = await loadCutouts([...new Set(multi.flatMap((d) => d.people))]);
    });
    const W = 640, H = 480;
    const share = (d: (typeof multi)[number], k: number, t: number) => inFrameShare(d.scene.people[k]!, cutouts.get(d.scene.people[k]!.sprite as PersonId)!, t, W, H, 3);

    it('people who stay are ≥ 80 % in the picture throughout; entering ones start wholly outside and are fully in by frame 60; leaving ones start inside and end outside', () => {
      const roles = new Set<string>();
      for (const d of multi) {
        d.cast!.forEach((c, k) => {
          roles.add(c.role);
          const s = Array.from({ length: 90 }, (_, t) => share(d, k, t));
          const what = `${d.name} ${c.name}`;
          if (c.role === 'stays') expect(Math.min(...s), what).to.be.at.least(0.8);
          if (c.role === 'enters') {
            expect(s[0], `${what} at frame 0`).to.equal(0);
            expect(s.slice(0, 15).every((v) => v === 0), `${what} outside for the first ½ s`).to.equal(true);
            const most = Math.max(...s);
            expect(most, what).to.be.at.least(0.8);
            expect(s.findIndex((v) => v >= 0.95 * most), `${what} fully in`).to.be.within(15, 60);
          }
          if (c.role === 'leaves') {
            expect(s[0], what).to.be.at.least(0.95);
            expect(s[89], what).to.equal(0);
            expect(s.findIndex((v) => v < 0.95), `${what} starts leaving`).to.be.at.least(45);
          }
        });
      }
      expect([...roles].sort()).to.deep.equal(['enters', 'leaves', 'stays']);
    });

    it('no bust shows its cut edge (the seated woman\'s soles, cut by her photo, are her feet on the floor)', () => {
      for (const d of multi) {
        const issues = visibleCutEdges(d.scene, cutouts).filter((i) => !(i.person === 'stool-woman' && i.side === 'bottom'));
        expect(issues, d.name).to.deep.equal([]);
      }
    });

    it('standing people of a clip are larger the lower their feet (one floor, one horizon); some are small (≤ 120 px) and some stand at both edges', () => {
      let small = 0, edges = 0;
      for (const d of multi) {
        const full = d.scene.people.filter((p) => (p.sprite === 'walker' || p.sprite === 'render-woman') && evalSignal(p.y, 0) < H);
        for (const a of full) for (const b of full) if (a.height < b.height) expect(evalSignal(a.y, 0), `${d.name}: ${a.sprite} (${a.height} px) stands behind ${b.sprite} (${b.height} px)`).to.be.below(evalSignal(b.y, 0));
        small += d.scene.people.filter((p) => p.height <= 120).length;
        const xs = d.scene.people.map((p) => evalSignal(p.x, 45));
        if (xs.some((x) => x < 80) && xs.some((x) => x > W - 80)) edges++;
      }
      expect(small, 'people ≤ 120 px tall').to.be.at.least(3);
      expect(edges, 'clips with people at both edges').to.be.at.least(1);
    });
  });
});
