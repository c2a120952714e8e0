// Bundles the browser client: client/main.ts → dist/client/app.js and the sender-tap worker
// client/rtpTapWorker.ts → dist/client/rtpTap.js (ES2022 modules, with source maps), then
// copies index.html, style.css and client/assets/ (if any) next to them. The server serves
// dist/client at "/". Usage: node scripts/build-client.mjs [--watch]
import { build, context } from 'esbuild';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'client');
const out = path.join(root, 'dist', 'client');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

/** @type {import('esbuild').BuildOptions} */
const options = {
  absWorkingDir: root,
  entryPoints: {
    app: path.join(src, 'main.ts'),
    rtpTap: path.join(src, 'rtpTapWorker.ts'),
  },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
  legalComments: 'none',
};

function copyStatic() {
  for (const f of ['index.html', 'style.css']) cpSync(path.join(src, f), path.join(out, f));
  const assets = path.join(src, 'assets');
  if (existsSync(assets)) cpSync(assets, path.join(out, 'assets'), { recursive: true });
}

if (process.argv.includes('--watch')) {
  const ctx = await context(options);
  copyStatic();
  await ctx.watch();
  console.log(`build-client: watching ${path.relative(root, src)} → ${path.relative(root, out)}`);
} else {
  const result = await build({ ...options, metafile: true });
  copyStatic();
  const bytes = Object.entries(result.metafile.outputs)
    .filter(([f]) => f.endsWith('.js'))
    .map(([f, o]) => `${path.basename(f)} ${(o.bytes / 1024).toFixed(1)} kB`);
  console.log(`build-client: ${bytes.join(', ')} → ${path.relative(root, out)}`);
}
