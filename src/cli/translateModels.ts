#!/usr/bin/env node
/**
 * `node dist/src/cli/translateModels.js [--check] [--update-manifest]`
 *
 * Makes the ONNX translations of the backbones (meet, selfie) from their sha256-checked TF.js
 * graphs into the models folder, checked against the sha256 models/manifest.json records.
 * `npm install` runs it (prepare, after the build); the server would otherwise translate on
 * first load. Nothing is downloaded.
 *
 *   --check             verify the cached translations only; exit 1 if one is missing or wrong
 *   --update-manifest   record the sha256 of what this translator produces (after a deliberate
 *                       change to src/inference/onnx/; the translation test must pass first)
 *   MASKSTREAM_MODELS_DIR=/dir   models folder (default <project>/models)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ModelStore, type DetectorName } from '../inference/modelStore.js';
import { loadOnnxModel, sha256, translateModel } from '../inference/onnx/onnxModels.js';
import { TRANSLATOR_VERSION } from '../inference/onnx/translate.js';
import type { ModelName } from '../inference/types.js';
import { projectRoot } from '../paths.js';

const MODELS: readonly (ModelName | DetectorName)[] = ['meet', 'selfie', 'movenet-multipose'];

/**
 * The manifest's text with entry `id`'s model.onnx (or detector.onnx) set to `record` (one line
 * after its featureShape or outputs line), everything else byte for byte as it was: the file
 * stays hand-readable.
 */
function withOnnxRecord(text: string, id: string, record: string): string {
  const at = text.indexOf(`"id": "${id}"`);
  if (at < 0) throw new Error(`models/manifest.json has no entry "${id}"`);
  const key = /"(featureShape|outputs)"/.exec(text.slice(at))?.[1];
  const end = key ? text.indexOf(`"${key}"`, at) : -1;
  const lineEnd = text.indexOf('\n', end);
  if (end < 0 || lineEnd < 0) throw new Error(`entry "${id}" has no featureShape or outputs line to put the onnx record after`);
  const indent = new RegExp(`\\n(\\s*)"${key}"`).exec(text.slice(0, lineEnd))![1]!;
  const rest = text.slice(lineEnd + 1);
  const existing = new RegExp(`^${indent}"onnx": \\{[^\n]*\\}\\n`).exec(rest);
  const head = text.slice(0, lineEnd).replace(/([\]}])$/, '$1,');
  return `${head}\n${indent}"onnx": ${record}\n${existing ? rest.slice(existing[0].length) : rest}`;
}

function main(): number {
  const args = new Set(process.argv.slice(2));
  for (const a of args) if (a !== '--check' && a !== '--update-manifest') throw new Error(`unknown argument "${a}" (expected --check or --update-manifest)`);
  const store = ModelStore.open(process.env.MASKSTREAM_MODELS_DIR || undefined);
  if (args.has('--update-manifest')) {
    const manifestPath = path.join(projectRoot(), 'models', 'manifest.json');
    let text = readFileSync(manifestPath, 'utf8');
    for (const name of MODELS) {
      const t0 = performance.now();
      const t = translateModel(store, name);
      const file = `${name}.onnx`;
      writeFileSync(path.join(store.dir, file), t.bytes);
      text = withOnnxRecord(text, name, JSON.stringify({ file, sha256: sha256(t.bytes), translator: TRANSLATOR_VERSION }).replace(/([{,])"/g, '$1 "').replace(/":/g, '": ').replace(/}$/, ' }'));
      console.log(`translate-models: ${name}: ${t.bytes.length} bytes, ${t.onnxNodes} ONNX nodes from ${Object.values(t.tfOps).reduce((a, b) => a + b, 0)} TF ops (${Object.entries(t.tfOps).map(([k, v]) => `${k} ${v}`).join(', ')}) in ${(performance.now() - t0).toFixed(0)} ms; sha256 ${sha256(t.bytes)}`);
    }
    JSON.parse(text); // still valid JSON
    writeFileSync(manifestPath, text);
    console.log(`translate-models: recorded in ${manifestPath}`);
    return 0;
  }
  let bad = 0;
  for (const name of MODELS) {
    const rec = store.onnxRecord(name);
    const file = rec ? path.join(store.dir, rec.file) : '';
    if (args.has('--check')) {
      const ok = rec !== undefined && existsSync(file) && sha256(readFileSync(file)) === rec.sha256;
      if (!ok) bad++;
      console[ok ? 'log' : 'error'](`translate-models: ${name}: ${ok ? 'ok' : `missing or not the recorded translation (${file || 'no onnx record in the manifest'})`}`);
      continue;
    }
    const t0 = performance.now();
    const m = loadOnnxModel(store, name);
    console.log(`translate-models: ${name}: ${m.origin === 'cache' ? 'present' : m.origin === 'translated' ? 'translated' : 'translated (models folder not writable: not cached)'}, sha256-verified, ${m.path} (${(performance.now() - t0).toFixed(0)} ms)`);
  }
  return bad ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (e) {
  console.error(`translate-models: ${(e as Error).message}`);
  process.exitCode = 1;
}
