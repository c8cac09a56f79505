import { execFile, spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { connect } from 'node:net'
import { freePort } from './docker-harness.js'
import { waitFor } from './site-harness.js'

const run = promisify(execFile)

/** Which of the Debian SMTP tools the tests drive are missing (swaks; smtp-sink and smtp-source from Postfix). */
export function missingSmtpTools (): string[] {
  return ['swaks', 'smtp-sink', 'smtp-source'].filter(t => {
    try { execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'pipe' }); return false } catch { return true }
  })
}

/** Postfix's smtp-sink on a loopback port, dumping every message it takes into a directory. */
export class SmtpSink {
  private constructor (readonly port: number, private readonly dir: string, private readonly child: ChildProcess) {}

  static async start (): Promise<SmtpSink> {
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'xcon-sink-'))
    chmodSync(dir, 0o777) // smtp-sink drops to nobody before it writes
    const child = spawn('smtp-sink', ['-u', 'nobody', '-d', `${dir}/%M.`, `127.0.0.1:${port}`, '64'], { stdio: 'ignore' })
    const sink = new SmtpSink(port, dir, child)
    await waitFor(`smtp-sink to listen on ${port}`, async () => await new Promise<boolean>(resolve => {
      const probe = connect(port, '127.0.0.1', () => { probe.destroy(); resolve(true) })
      probe.once('error', () => resolve(false))
    }), 10_000, 50)
    return sink
  }

  /** Every message received so far, as text (headers and body). */
  messages (): string[] {
    return readdirSync(this.dir).map(f => readFileSync(join(this.dir, f), 'utf8'))
  }

  stop (): void {
    this.child.kill('SIGKILL')
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Sends one message with swaks; returns its exit code and transcript. */
export async function swaks (port: number, from: string, to: string, subject: string, body = 'sent with swaks'): Promise<{ code: number, out: string }> {
  try {
    const { stdout, stderr } = await run('swaks', ['--server', `127.0.0.1:${port}`, '--from', from, '--to', to, '--header', `Subject: ${subject}`, '--body', body, '--timeout', '20'], { timeout: 30_000 })
    return { code: 0, out: stdout + stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, out: e.stdout + e.stderr }
  }
}
