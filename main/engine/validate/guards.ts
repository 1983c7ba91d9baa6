// Runtime guards for untrusted values: each checks an unknown value and returns it typed, or throws ValidationError
// naming where (`args[1].points[3]`) and why. The IPC layer checks every invoke argument with them
// (main/ipc/validate.ts); the engine checks what it reads back from disk with the same ones (a session's edit log).

export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

/** Checks an unknown value and returns it typed, or throws ValidationError naming `at`. */
export type Guard<T> = (value: unknown, at: string) => T;
export type GuardOf<G> = G extends Guard<infer T> ? T : never;

export function fail(at: string, expected: string, value: unknown): never {
  const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  throw new ValidationError(`${at}: expected ${expected}, got ${got}`);
}

export function str(opts: { maxLength?: number; pattern?: RegExp; what?: string } = {}): Guard<string> {
  const max = opts.maxLength ?? 4096;
  return (v, at) => {
    if (typeof v !== 'string') fail(at, opts.what ?? 'a string', v);
    if (v.length === 0 || v.length > max) throw new ValidationError(`${at}: expected 1..${max} characters`);
    if (opts.pattern && !opts.pattern.test(v)) throw new ValidationError(`${at}: expected ${opts.what ?? `a string matching ${opts.pattern}`}`);
    return v;
  };
}

export function num(opts: { min?: number; max?: number; integer?: boolean } = {}): Guard<number> {
  const { min = -Number.MAX_VALUE, max = Number.MAX_VALUE, integer = false } = opts;
  return (v, at) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(at, integer ? 'an integer' : 'a finite number', v);
    if (integer && !Number.isInteger(v)) fail(at, 'an integer', v);
    if (v < min || v > max) throw new ValidationError(`${at}: expected a value in [${min}, ${max}], got ${v}`);
    return v;
  };
}

export function oneOf<const T extends readonly string[]>(values: T): Guard<T[number]> {
  return (v, at) => {
    if (typeof v !== 'string' || !values.includes(v)) throw new ValidationError(`${at}: expected one of ${values.join(', ')}`);
    return v as T[number];
  };
}

export function arrayOf<T>(item: Guard<T>, opts: { min?: number; max?: number } = {}): Guard<T[]> {
  const { min = 0, max = 1024 } = opts;
  return (v, at) => {
    if (!Array.isArray(v)) fail(at, 'an array', v);
    if (v.length < min || v.length > max) throw new ValidationError(`${at}: expected ${min}..${max} items, got ${v.length}`);
    // Array.from, not map: map skips the holes of a sparse array, which would pass unchecked.
    return Array.from(v as unknown[], (x, i) => item(x, `${at}[${i}]`));
  };
}

export type Shape = Record<string, Guard<unknown>>;
export type ObjectOf<R extends Shape, O extends Shape> = { [K in keyof R]: GuardOf<R[K]> } & { [K in keyof O]?: GuardOf<O[K]> };

/** A plain object with exactly these keys (optional ones may be absent or undefined); unknown keys are refused. */
export function object<R extends Shape, O extends Shape = Record<never, never>>(required: R, optional?: O): Guard<ObjectOf<R, O>> {
  return (v, at) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(at, 'an object', v);
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) fail(at, 'a plain object', v);
    const input = v as Record<string, unknown>;
    // Own-key checks: `in` would let "__proto__" or "constructor" through via Object.prototype.
    for (const key of Object.keys(input)) {
      if (!Object.hasOwn(required, key) && !(optional && Object.hasOwn(optional, key))) throw new ValidationError(`${at}: unexpected key "${key}"`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, guard] of Object.entries(required)) {
      if (!Object.hasOwn(input, key)) throw new ValidationError(`${at}.${key}: required`);
      out[key] = guard(input[key], `${at}.${key}`);
    }
    for (const [key, guard] of Object.entries(optional ?? {})) {
      if (input[key] !== undefined) out[key] = guard(input[key], `${at}.${key}`);
    }
    return out as ObjectOf<R, O>;
  };
}

export function bool(): Guard<boolean> {
  return (v, at) => {
    if (typeof v !== 'boolean') fail(at, 'true or false', v);
    return v;
  };
}

/** Exactly two items, each checked by `item`. */
export function pair(item: Guard<number>): Guard<[number, number]> {
  const list = arrayOf(item, { min: 2, max: 2 });
  return (v, at) => {
    const [a, b] = list(v, at);
    return [a!, b!];
  };
}
