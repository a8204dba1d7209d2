/** Waits on conditions with deadlines: no sleep-and-hope. */
export async function waitFor<T> (
  check: () => T | Promise<T>,
  { timeout = 10_000, interval = 25, what = 'condition' }: { timeout?: number, interval?: number, what?: string } = {}
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeout
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last !== undefined ? `: ${String((last as Error).message ?? last)}` : ''}`)
    }
    await new Promise((resolve) => setTimeout(resolve, interval))
  }
}

export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}
