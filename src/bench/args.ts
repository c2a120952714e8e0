/** Command-line helpers shared by the benchmarks that start a server in their own process. */

/** The value after `--name` on the command line, or `def`. */
export function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

/**
 * Every flag but the benchmark's own (`own`, each followed by its value): they configure the
 * server, as `maskstream serve` takes them (src/config.ts validates them).
 */
export function serverFlags(own: readonly string[], argv: readonly string[] = process.argv.slice(2)): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (own.includes(argv[i]!.replace(/^--/, ''))) i++;
    else out.push(argv[i]!);
  }
  return out;
}
