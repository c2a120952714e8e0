import { expect } from 'chai';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../../src/paths.js';
import { importCycles, importGraph, importSpecifiers, layerOf, upwardEdges } from '../../helpers/importGraph.js';

/**
 * The layers of src/, lowest first: a module imports only from its own folder and from
 * folders below it. Folders in one group are peers that must not import each other.
 * The pipeline runs upwards: RTP ingest → decode → region of interest → temporal stage →
 * inference engine; then what serves it (config, metrics, egress, sessions, signaling, main);
 * then the tools built on the server (test publishers, quality clips, CLI, training, benchmarks).
 */
const LAYERS: readonly (readonly string[])[] = [
  ['shared', 'paths'],
  ['ingest'],
  ['decode'],
  ['io'],
  ['roi'],
  ['temporal'],
  ['inference'],
  ['config'],
  ['observability'],
  ['egress'],
  ['session'],
  ['signaling'],
  ['main'],
  ['testing'],
  ['quality'],
  ['cli'],
  ['train'],
  ['bench'],
  ['reliability'],
];

describe('structure: the import graph of src/ and client/', () => {
  const root = projectRoot();
  const src = importGraph(root, ['src']);
  const client = importGraph(root, ['client']);

  it('reads the real graph: every import resolves to a file, and there are hundreds of them', () => {
    expect(src.length).to.be.above(300);
    const missing = [...src, ...client].filter((e) => !existsSync(path.join(root, e.to)));
    expect(missing, 'imports that name no file').to.deep.equal([]);
  });

  it('every folder of src/ is in a layer, and no module imports from a layer above its own', () => {
    const up = upwardEdges(src, LAYERS).map((e) => `${e.from} → ${e.to}`);
    expect(up).to.deep.equal([]);
  });

  it('no import cycles between files', () => {
    expect(importCycles(src).map((c) => c.join(' → '))).to.deep.equal([]);
  });

  it('the browser client reaches into src/ only for the shared wire vocabulary', () => {
    const outside = client.filter((e) => e.to.startsWith('src' + path.sep)).filter((e) => layerOf(e.to) !== 'shared');
    expect(outside.map((e) => `${e.from} → ${e.to}`)).to.deep.equal([]);
    expect(client.some((e) => layerOf(e.to) === 'shared'), 'the client imports the shared codec').to.equal(true);
  });

  it('the checks catch what they are for (a made-up graph)', () => {
    const edges = [
      { from: 'src/decode/a.ts', to: 'src/ingest/b.ts' }, // down: fine
      { from: 'src/ingest/b.ts', to: 'src/session/c.ts' }, // up
      { from: 'src/shared/x.ts', to: 'src/paths.ts' }, // peers in one group
      { from: 'src/newfolder/d.ts', to: 'src/shared/x.ts' }, // folder in no layer
    ];
    expect(upwardEdges(edges, LAYERS).map((e) => e.from)).to.deep.equal(['src/ingest/b.ts', 'src/shared/x.ts', 'src/newfolder/d.ts']);
    expect(importCycles([...edges, { from: 'src/session/c.ts', to: 'src/decode/a.ts' }])).to.have.length(1);
    expect(importSpecifiers("import type { A } from './a.js';\n// import { B } from './b.js';\nexport { C } from '../c.js';\nconst m = await import('./d.js');\nimport 'chai';")).to.deep.equal(['./a.js', '../c.js', './d.js']);
  });
});
