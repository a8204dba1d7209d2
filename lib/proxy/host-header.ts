/** The Host header from raw headers, without building req.headers. */
export function hostOf (raw: string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    if (name.length === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host')) return raw[i + 1]
  }
  return undefined
}
