/**
 * The dashboard's HTML, made once at start from the static files shipped
 * in the package (lib/admin/static/: no build step at run time). Style and
 * script are inlined into the page, so one request that carries the admin
 * token gets all of it (a <script src> could not carry the token without
 * writing it into the page), and a Content-Security-Policy with their
 * hashes lets nothing else run: no other script, no inline handler, no
 * connection but to this listener.
 *
 * Two pages: the dashboard, and the token prompt answered (401) to a
 * browser that came without the token or with a wrong one.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export const STATIC_DIR = join(__dirname, '..', '..', '..', 'lib', 'admin', 'static')

export interface Page { html: Buffer, headers: Record<string, string> }

export interface DashboardPages { dashboard: Page, login: Page }

function read (name: string): string {
  return readFileSync(join(STATIC_DIR, name), 'utf8')
}

function sha256 (text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`
}

/** `template` has one `<style></style>` and one `<script></script>`; their contents are filled in. */
function page (template: string, style: string, script: string): Page {
  const html = template.replace('<style></style>', () => `<style>${style}</style>`).replace('<script></script>', () => `<script>${script}</script>`)
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'"
  ].join('; ')
  return {
    html: Buffer.from(html),
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': csp,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY'
    }
  }
}

export function loadDashboardPages (): DashboardPages {
  const style = read('style.css')
  return {
    dashboard: page(read('index.html'), style, read('app.js')),
    login: page(read('login.html'), style, read('login.js'))
  }
}
