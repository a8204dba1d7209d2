/** Responses the proxy writes itself: short text bodies with the error code in a header. */
import type { ServerResponse } from 'node:http'

export function sendError (res: ServerResponse, status: number, body: string, code: string): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-mesh-error': code
  })
  res.end(body)
}
