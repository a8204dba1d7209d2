/**
 * The request target and Host as RFC 9112 3.2 has them: origin-form
 * (`/path?q`) is forwarded as it is; absolute-form (`http://b.local/x`) is
 * routed by its authority and forwarded in origin-form with that authority
 * as Host; anything else (asterisk-form `*`, authority-form, garbage) is
 * refused by the listener.
 */

export interface Target {
  /** Origin-form path sent upstream. */
  path: string
  /** The authority of an absolute-form target, else null. */
  authority: string | null
}

/** Fills `out` from a request target; false when the target is not origin- or absolute-form. */
export function parseTarget (url: string, out: Target): boolean {
  if (url.charCodeAt(0) === 47) { // '/'
    out.path = url
    out.authority = null
    return true
  }
  let rest: string
  if (url.length > 7 && url.slice(0, 7).toLowerCase() === 'http://') rest = url.slice(7)
  else if (url.length > 8 && url.slice(0, 8).toLowerCase() === 'https://') rest = url.slice(8)
  else return false
  let end = rest.length
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i)
    if (c === 47 || c === 63 || c === 35) { end = i; break } // '/', '?', '#'
  }
  const authority = rest.slice(0, end)
  if (authority === '' || !validHost(authority)) return false
  const path = rest.slice(end)
  out.authority = authority
  out.path = path === '' ? '/' : path.charCodeAt(0) === 63 ? `/${path}` : path
  return path.charCodeAt(0) !== 35
}

/**
 * A Host value: uri-host [":" port] (reg-name, IPv4 or an [IP-literal]);
 * empty is allowed (RFC 9112 3.2). Refuses userinfo, paths, spaces and
 * controls.
 */
export function validHost (host: string): boolean {
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i)
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57)) continue
    switch (c) {
      // - . _ ~ : [ ] % and the sub-delims ! $ & ' ( ) * + , ; =
      case 45: case 46: case 95: case 126: case 58: case 91: case 93: case 37:
      case 33: case 36: case 38: case 39: case 40: case 41: case 42: case 43: case 44: case 59: case 61:
        continue
      default:
        return false
    }
  }
  return true
}
