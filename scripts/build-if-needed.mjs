// `npm start`, `npm run segment` and `npm run eval` run this first: rebuild (tsc + client
// bundle) only when a source file is newer than the build output, so a fresh clone works and a
// second start is instant.
import { statSync, readdirSync, existsSync } from 'node:fs';
import { execSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
const out = [path.join(root, 'dist/src/cli/maskstream.js'), path.join(root, 'dist/client/app.js')];
const built = out.every((f) => existsSync(f)) ? Math.min(...out.map((f) => statSync(f).mtimeMs)) : 0;
const src = Math.max(newest(path.join(root, 'src')), newest(path.join(root, 'client')));
if (built < src) {
  // stderr, not stdout: `npm run --silent segment -- …` output is meant to be piped, and
  // the build's own output (tsc errors, bundle sizes) must not end up in it either.
  console.error('maskstream: building (tsc + client bundle)…');
  execSync('npm run --silent build', { cwd: root, stdio: ['inherit', 2, 2] });
}
