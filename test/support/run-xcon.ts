import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { XCON } from './site-harness.js'

const run = promisify(execFile)

/** Runs the `xcon` command as a user would, and keeps its exit code and both streams. */
export async function xcon (args: string[], timeoutMs = 30_000): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [XCON, ...args], { timeout: timeoutMs })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}
