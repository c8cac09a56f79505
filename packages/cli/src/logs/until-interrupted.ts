/** Until Ctrl-C or SIGTERM, or until `signal` is aborted when one is given. */
export async function untilInterrupted (signal?: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    if (signal !== undefined) {
      if (signal.aborted) resolve()
      else signal.addEventListener('abort', () => resolve(), { once: true })
      return
    }
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
}
