import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The project folder (the one holding maskstream's package.json), found upwards from this
 * module, so it works from src/ via a loader, from dist/src/, and from a global install.
 */
export function projectRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'maskstream') return (cached = dir);
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the maskstream project folder above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}
