/**
 * Credentials out of text that is printed or logged. A Redis URL carries its
 * password as `user:password@` (or `:password@`), in the Sentinel form too
 * (`redis+sentinel://user:password@h1:26379,h2:26379/MASTER`), and takes
 * more from the query (`?password=`, `?sentinelPassword=`); every such value is
 * replaced by `***`. Works on text that no URL parser accepts (a password
 * with a raw `@` or space), so a malformed URL in an error message is
 * redacted too.
 */

const REDACTED = '***'

// scheme://userinfo@ : userinfo is everything up to the last '@' before the query, so a password
// with a raw '/' or '@' goes whole, and so does the Sentinel form's (redis+sentinel://u:p@h1:1,h2:2/MASTER).
// Neither a Redis db number nor a master name holds an '@' (text that is not a URL may be over-redacted).
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s?#]*)@/gi
// password-like query parameters: ?password=x, &sentinelPassword=x
const QUERY = /([?&][a-z]*pass(?:word)?[a-z]*=)([^&#\s]*)/gi

function userinfo (_m: string, scheme: string, info: string): string {
  const colon = info.indexOf(':')
  // `user:secret` keeps the user name; a lone `secret@` (some clients read it as the password) goes whole.
  return `${scheme}${colon >= 0 ? `${info.slice(0, colon)}:${REDACTED}` : REDACTED}@`
}

/** `text` with every URL password replaced by ***. */
export function redactUrl (text: string): string {
  return text.replace(USERINFO, userinfo).replace(QUERY, (_m, key: string) => `${key}${REDACTED}`)
}

/** True when `text` holds a credential that redactUrl would hide. */
export function hasSecret (text: string): boolean {
  return redactUrl(text) !== text
}
