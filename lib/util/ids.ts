import { randomBytes, createHash } from 'node:crypto'

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz'

/** A random id in Docker's alphabet (`pgqdxr41dpy8qwkn6qm7vke0q`), 25 chars. */
export function newId (length = 25): string {
  const bytes = randomBytes(length)
  let out = ''
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i] % 36]
  return out
}

/** A stable id derived from text (same input, same id, on every node). */
export function stableId (text: string, length = 25): string {
  const digest = createHash('sha256').update(text).digest()
  let out = ''
  for (let i = 0; i < length; i++) out += ALPHABET[digest[i] % 36]
  return out
}

/** Docker prints the first 12 characters of an id. */
export function shortId (id: string): string {
  return id.slice(0, 12)
}
