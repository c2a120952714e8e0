/**
 * The import graph of the TypeScript sources, read from the files themselves (relative
 * `import … from`, `export … from` and `import()` specifiers, type-only imports included: a
 * type import is a dependency of the design even though it vanishes from the JavaScript).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface ImportEdge {
  readonly from: string;
  readonly to: string;
}

const SPECIFIER = /(?:^|[\s;])(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Relative specifiers of one file's imports (comments stripped first). */
export function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const m of code.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2]!;
    if (spec.startsWith('.')) out.push(spec);
  }
  return out;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Edges between files under `dirs` (paths relative to `root`, with the .ts extension). */
export function importGraph(root: string, dirs: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const dir of dirs) {
    for (const file of tsFiles(path.join(root, dir))) {
      for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
        const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
        edges.push({ from: path.relative(root, file), to: path.relative(root, target) });
      }
    }
  }
  return edges;
}

/** `src/roi/crop.ts` → `roi`; `src/config.ts` → `config`. */
export function layerOf(file: string): string {
  const parts = file.split(path.sep);
  return parts.length > 2 ? parts[1]! : parts[1]!.replace(/\.ts$/, '');
}

/** Edges that go to a layer above their own in `order` (lowest first), or to a layer not in it. */
export function upwardEdges(edges: readonly ImportEdge[], order: readonly (readonly string[])[]): ImportEdge[] {
  const rank = new Map<string, number>();
  order.forEach((group, i) => group.forEach((l) => rank.set(l, i)));
  return edges.filter((e) => {
    const a = rank.get(layerOf(e.from));
    const b = rank.get(layerOf(e.to));
    return a === undefined || b === undefined || (b > a) || (b === a && layerOf(e.from) !== layerOf(e.to));
  });
}

/** Every import cycle between files, each as the list of files around it (empty: none). */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (u: string): void => {
    state.set(u, 1);
    stack.push(u);
    for (const v of next.get(u) ?? []) {
      if (state.get(v) === 1) cycles.push([...stack.slice(stack.indexOf(v)), v]);
      else if (!state.has(v)) visit(v);
    }
    stack.pop();
    state.set(u, 2);
  };
  for (const u of next.keys()) if (!state.has(u)) visit(u);
  return cycles;
}
