/**
 * What the CLI may do to the terminal it writes to. Cursor movement (the
 * converge display redrawn in place) only on a TTY; colour only on a TTY
 * and only when NO_COLOR is unset or empty (https://no-color.org). Off a
 * TTY, output is plain lines that a pipe or a log file can take.
 */

export function isTty (out: NodeJS.WritableStream): boolean {
  return (out as NodeJS.WriteStream).isTTY === true
}

/** Read once at the CLI's edge. */
const noColor = (process.env.NO_COLOR ?? '') !== ''

export function colorOn (out: NodeJS.WritableStream): boolean {
  return isTty(out) && !noColor
}

export type Paint = (text: string) => string

const plain: Paint = (text) => text

/** A painter for `out`: red for errors, or plain text where colour is off. */
export function red (out: NodeJS.WritableStream): Paint {
  return colorOn(out) ? (text) => `\x1b[31m${text}\x1b[0m` : plain
}
