import { expect } from 'chai';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TfjsBackbone } from '../../../src/inference/tfjsBackbone.js';
import { selectBackend } from '../../../src/inference/backend.js';
import { ManifestError, ModelIntegrityError, ModelStore } from '../../../src/inference/modelStore.js';
import { projectRoot } from '../../../src/paths.js';
import { rejection } from '../../helpers/rejection.js';


describe('inference/modelStore ModelStore', () => {
  let dir: string;
  const models = path.join(projectRoot(), 'models');

  before(async () => {
    await selectBackend('wasm');
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'maskstream-store-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the run parameters from models/manifest.json', () => {
    const store = ModelStore.open();
    expect(store.spec('meet')).to.deep.include({ inputWidth: 256, inputHeight: 144, outputNode: 'segment', featureNode: 'add_5__xeno_compat__1' });
    expect(store.spec('meet').output).to.deep.equal({ kind: 'softmax2', personChannel: 1 });
    expect(store.spec('selfie')).to.deep.include({ inputWidth: 256, inputHeight: 256, outputNode: 'segment_add' });
    expect(() => store.spec('rvm' as 'meet')).to.throw(ManifestError, /unknown model "rvm"/);
  });

  it('loads intact weights through its IOHandler', async () => {
    const artifacts = await ModelStore.open().ioHandler('selfie').load!();
    expect(artifacts.weightSpecs!.length).to.be.greaterThan(0);
    expect((artifacts.weightData as ArrayBuffer).byteLength).to.be.greaterThan(100_000);
  });

  it('a weights file whose sha256 does not match is a clear error naming the fix', async () => {
    copyFileSync(path.join(models, 'meet.json'), path.join(dir, 'meet.json'));
    copyFileSync(path.join(models, 'meet.bin'), path.join(dir, 'meet.bin'));
    writeFileSync(path.join(dir, 'meet.bin'), Buffer.from('not the weights'), { flag: 'r+' }); // same name, corrupted head
    const store = ModelStore.open(dir);
    const e = await rejection(Promise.resolve().then(() => store.ioHandler('meet').load!()));
    expect(e).to.be.instanceOf(ModelIntegrityError);
    expect(e.message).to.include(path.join(dir, 'meet.bin'));
    expect(e.message).to.match(/sha256 [0-9a-f]{64}, expected 7fd81c93/);
    expect(e.message).to.include('npm install');
    // And through the real loader.
    const e2 = await rejection(TfjsBackbone.load('meet', { store }));
    expect(e2).to.be.instanceOf(ModelIntegrityError);
  });

  it('a missing file is a clear error naming the fix', async () => {
    copyFileSync(path.join(models, 'meet.bin'), path.join(dir, 'meet.bin'));
    const e = await rejection(Promise.resolve().then(() => ModelStore.open(dir).ioHandler('meet').load!()));
    expect(e).to.be.instanceOf(ModelIntegrityError);
    expect(e.message).to.match(/meet\.json is missing; run `npm install`/);
  });

  it('an unreadable manifest is a ManifestError', () => {
    expect(() => ModelStore.open(dir, path.join(dir, 'nope.json'))).to.throw(ManifestError, /cannot read the model manifest/);
  });
});
