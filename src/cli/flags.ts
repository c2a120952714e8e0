/**
 * Flag parsing for the offline subcommands (`segment`, `eval`): `--name value`, `--name=value`
 * and boolean `--name`. Unknown flags, missing values and stray arguments are UsageErrors, so
 * a typo never silently falls back to a default. Pure.
 */

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface FlagSpec {
  /** Flag name without the dashes. */
  readonly name: string;
  /** boolean flags take no value. */
  readonly kind: 'string' | 'boolean';
  /** One line for --help. */
  readonly help: string;
  /** Shown in --help; string flags without it are optional unless `required`. */
  readonly required?: boolean;
}

export interface ParsedFlags {
  readonly values: ReadonlyMap<string, string>;
  readonly booleans: ReadonlySet<string>;
}

/** `command` names the subcommand in messages. `-h` is an alias of `--help` when a help flag exists. */
export function parseFlags(command: string, argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, string>();
  const booleans = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' && byName.has('help')) {
      booleans.add('help');
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`${command}: unexpected argument "${arg}" (flags are --name value)`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`${command}: unknown flag --${name} (known: ${specs.map((s) => '--' + s.name).join(', ')})`);
    if (spec.kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`${command}: --${name} takes no value`);
      booleans.add(name);
      continue;
    }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined || (eq < 0 && raw.startsWith('--'))) throw new UsageError(`${command}: --${name} needs a value`);
    if (values.has(name)) throw new UsageError(`${command}: --${name} given twice`);
    values.set(name, raw);
  }
  if (!booleans.has('help')) {
    for (const s of specs) if (s.required && !values.has(s.name)) throw new UsageError(`${command}: --${s.name} is required: ${s.help}`);
  }
  return { values, booleans };
}

/** A positive integer flag value, or UsageError naming the flag. */
export function positiveIntFlag(command: string, name: string, raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${command}: --${name} must be a positive integer, got "${raw}"`);
  return n;
}

/** Help text: a usage line, then one aligned line per flag. */
export function formatHelp(usage: string, specs: readonly FlagSpec[]): string {
  const names = specs.map((s) => `--${s.name}${s.kind === 'string' ? ' <value>' : ''}`);
  const width = Math.max(...names.map((n) => n.length));
  return [`usage: ${usage}`, '', 'flags:', ...specs.map((s, i) => `  ${names[i]!.padEnd(width)}  ${s.help}${s.required ? ' (required)' : ''}`)].join('\n');
}
