// `npm run fuzz -- [--runs 20000] [--seed N]`: the property/fuzz tests of test/unit/fuzz with
// many more runs than `npm test` (which uses 200–1000 runs and the fixed seed CI_SEED) and a
// fresh random seed, printed first so a failure can be replayed with --seed. A failure prints
// fast-check's counterexample and path; add it as a regression case next to the property.
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const runs = arg('runs', '20000');
const seed = arg('seed', String(randomInt(1, 2 ** 31 - 1)));
console.log(`fuzz: ${runs} runs per property, seed ${seed} (replay: npm run fuzz -- --runs ${runs} --seed ${seed})`);
const r = spawnSync(process.execPath, [path.join(root, 'node_modules/mocha/bin/mocha.js'), '--no-config', '--timeout', '0', 'dist/test/unit/fuzz/*.test.js'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: runs, FUZZ_SEED: seed },
});
process.exit(r.status ?? 1);
