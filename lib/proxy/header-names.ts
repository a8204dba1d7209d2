/**
 * Header-name helpers for the hot path: names are matched by length and
 * then case-insensitively in place (no toLowerCase per header), and
 * Connection's token list is turned into a set once per message.
 */

/** Lower-case ASCII compare of a header name with a lower-case literal. */
export function eqLower (name: string, lower: string): boolean {
  if (name.length !== lower.length) return false
  for (let i = 0; i < lower.length; i++) {
    const c = name.charCodeAt(i)
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(i)) return false
  }
  return true
}

/** The same for a header name or value still in its Buffer. */
export function eqLowerBuf (name: Buffer, lower: string): boolean {
  if (name.length !== lower.length) return false
  for (let i = 0; i < lower.length; i++) {
    const c = name[i]
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(i)) return false
  }
  return true
}

type Latin1Slicer = Buffer & { latin1Slice: (start: number, end: number) => string }

/** Buffer -> string without toString()'s argument normalisation (Node's own fast path). */
export function latin1 (b: Buffer): string {
  return (b as Latin1Slicer).latin1Slice(0, b.length)
}

/**
 * The header names a Connection value lists besides close / keep-alive /
 * upgrade (RFC 9110 7.6.1: they are hop-by-hop too), lower-cased; null when
 * there are none (the common case costs no allocation).
 */
export function connectionOptions (value: string): Set<string> | null {
  if (eqLower(value, 'keep-alive') || eqLower(value, 'close') || eqLower(value, 'upgrade')) return null
  let out: Set<string> | null = null
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase()
    if (t === '' || t === 'close' || t === 'keep-alive' || t === 'upgrade') continue
    (out ??= new Set()).add(t)
  }
  return out
}

/** `pairs` ([name, value, ...]) without the names in `drop`: one pass, linear in the head. */
export function withoutNamed (pairs: string[], drop: Set<string>): string[] {
  const out: string[] = []
  for (let i = 0; i < pairs.length; i += 2) {
    if (!drop.has(pairs[i].toLowerCase())) out.push(pairs[i], pairs[i + 1])
  }
  return out
}

/** Does a comma-separated header value list `token` (case-insensitive)? */
export function hasToken (value: string, token: string): boolean {
  if (eqLower(value, token)) return true
  for (const raw of value.split(',')) if (eqLower(raw.trim(), token)) return true
  return false
}
