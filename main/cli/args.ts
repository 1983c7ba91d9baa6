// Tiny argument parser for the CLI: positionals plus --flag value / --flag=value / boolean --flag.

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseArgs(argv: string[], booleanFlags: readonly string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) {
        flags.set(a.slice(2, eq), a.slice(eq + 1));
      } else if (booleanFlags.includes(a.slice(2))) {
        flags.set(a.slice(2), true);
      } else {
        const v = argv[i + 1];
        if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
        flags.set(a.slice(2), v);
        i++;
      }
    } else {
      positionals.push(a);
    }
  }
  return { positionals, flags };
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

export function flagNumber(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const v = flagString(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}, got "${v}"`);
  return n;
}

/** "x,y[,z]" -> numbers, all positive. */
export function flagSpacing(args: ParsedArgs, name = 'spacing'): number[] | undefined {
  const v = flagString(args, name);
  if (v === undefined) return undefined;
  const parts = v.split(',').map(Number);
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !Number.isFinite(p) || p <= 0)) {
    throw new UsageError(`--${name} must be x,y or x,y,z with positive numbers, got "${v}"`);
  }
  return parts;
}

/** Refuses flags a command does not know, so typos are not silently ignored. */
export function checkFlags(args: ParsedArgs, known: readonly string[]): void {
  for (const k of args.flags.keys()) if (!known.includes(k)) throw new UsageError(`unknown option --${k}`);
}

/** Flags every command that opens an image accepts. */
export const OPEN_FLAGS = ['spacing', 'series', 'allow-gaps'] as const;

/** --spacing, --series <SeriesInstanceUID>, --allow-gaps -> the engine's open options. */
export function openOptionsFromFlags(args: ParsedArgs): { spacingMm?: number[]; seriesUid?: string; allowGaps?: boolean } {
  const spacingMm = flagSpacing(args);
  const seriesUid = flagString(args, 'series');
  return {
    ...(spacingMm ? { spacingMm } : {}),
    ...(seriesUid ? { seriesUid } : {}),
    ...(args.flags.has('allow-gaps') ? { allowGaps: true } : {}),
  };
}
