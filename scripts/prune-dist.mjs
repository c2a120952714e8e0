// `npm run build` runs this before tsc: tsc never deletes output, so a source file that was moved
// or deleted would leave its compiled copy in dist/ — and mocha would still run a moved test
// twice, or an import of a removed module would keep working here and fail on a fresh clone.
// Deletes every dist/{src,test}/**/*.js (and .d.ts, .map) whose .ts source no longer exists.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let removed = 0;
function prune(distDir, srcDir) {
  if (!existsSync(distDir)) return;
  for (const e of readdirSync(distDir, { withFileTypes: true })) {
    const d = path.join(distDir, e.name);
    if (e.isDirectory()) {
      prune(d, path.join(srcDir, e.name));
      if (readdirSync(d).length === 0) rmSync(d, { recursive: true });
      continue;
    }
    const m = /^(.*?)(\.d\.ts|\.js)(\.map)?$/.exec(e.name);
    if (!m) continue;
    if (!existsSync(path.join(srcDir, `${m[1]}.ts`))) {
      rmSync(d);
      removed++;
    }
  }
}
for (const top of ['src', 'test']) prune(path.join(root, 'dist', top), path.join(root, top));
if (removed > 0) console.error(`maskstream: removed ${removed} stale file(s) from dist/ (their sources are gone)`);
