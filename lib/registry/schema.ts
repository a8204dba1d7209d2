/**
 * A small schema language for registry records: each record type is declared
 * once (types.ts) as a Schema, its TypeScript type is derived from it
 * (`Infer<typeof X>`), and the codec checks every field with the same
 * declaration. A check returns null or one reason naming the field path and
 * the value it found, never throws.
 */

export interface Schema<T> {
  /** null when `value` is a T; else why not, naming `path`. */
  readonly check: (value: unknown, path: string) => string | null
  /** Type carrier only (never set). */
  readonly _type?: T
}

export type Infer<S> = S extends Schema<infer T> ? T : never

/** A property that may be absent (`key?: T`); inside `object` only. */
export interface Optional<T> extends Schema<T | undefined> { readonly optional: true }

type Shape = Record<string, Schema<unknown>>
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends Optional<unknown> ? K : never }[keyof S]
type Flatten<T> = { [K in keyof T]: T[K] } & {}
export type ShapeType<S extends Shape> = Flatten<
  { -readonly [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } &
  { -readonly [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined> }
>

export interface ObjectSchema<S extends Shape> extends Schema<ShapeType<S>> { readonly shape: S }

/** What a value looks like in a reason: short, and never a whole record. */
function shown (v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'an object'
  const text = JSON.stringify(v)
  return text.length > 40 ? `${text.slice(0, 37)}...` : text
}

const fail = (path: string, want: string, got: unknown): string => `field "${path}" must be ${want} (found ${shown(got)})`

export function str (): Schema<string> {
  return { check: (v, p) => typeof v === 'string' ? null : fail(p, 'a string', v) }
}

export function bool (): Schema<boolean> {
  return { check: (v, p) => typeof v === 'boolean' ? null : fail(p, 'true or false', v) }
}

/** A whole number in [min, max]. */
export function int (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Schema<number> {
  const want = max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`
  return { check: (v, p) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? null : fail(p, want, v) }
}

/** Exactly one of `values`. */
export function oneOf<const V extends readonly string[]> (...values: V): Schema<V[number]> {
  const allowed = new Set<unknown>(values)
  return { check: (v, p) => allowed.has(v) ? null : fail(p, `one of ${values.join(', ')}`, v) }
}

/** Exactly `value` (a record's schema version). */
export function literal<const V extends number | string> (value: V): Schema<V> {
  return { check: (v, p) => v === value ? null : fail(p, JSON.stringify(value), v) }
}

export function nullable<T> (s: Schema<T>): Schema<T | null> {
  return { check: (v, p) => v === null ? null : s.check(v, p) }
}

export function optional<T> (s: Schema<T>): Optional<T> {
  return { optional: true, check: (v, p) => v === undefined ? null : s.check(v, p) }
}

export function array<T> (item: Schema<T>): Schema<T[]> {
  return {
    check: (v, p) => {
      if (!Array.isArray(v)) return fail(p, 'a list', v)
      for (let i = 0; i < v.length; i++) {
        const why = item.check(v[i], `${p}[${i}]`)
        if (why !== null) return why
      }
      return null
    }
  }
}

/** An object used as a map: any keys, every value a T. */
export function dict<T> (value: Schema<T>): Schema<Record<string, T>> {
  return {
    check: (v, p) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'an object', v)
      for (const [k, x] of Object.entries(v)) {
        const why = value.check(x, `${p}.${k}`)
        if (why !== null) return why
      }
      return null
    }
  }
}

/** An object with these fields (others are kept as they are, for newer writers). */
export function object<S extends Shape> (shape: S): ObjectSchema<S> {
  const entries = Object.entries(shape)
  return {
    shape,
    check: (v, p) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p === '' ? 'record' : p, 'an object', v)
      const o = v as Record<string, unknown>
      for (const [k, s] of entries) {
        const why = s.check(o[k], p === '' ? k : `${p}.${k}`)
        if (why !== null) return why
      }
      return null
    }
  }
}
