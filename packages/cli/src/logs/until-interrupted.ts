/** Until Ctrl-C or SIGTERM. */
export async function untilInterrupted (): Promise<void> {
  await new Promise<void>(resolve => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
}
