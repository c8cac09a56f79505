import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import type { AdminTransport } from '../admin-client.js'
import { engineArgs } from './docker-containers.js'

/** The admin port inside every MTA container (the compose file publishes it as 7101 …). */
export const ADMIN_PORT_IN_CONTAINER = 7100

type Answer = Awaited<ReturnType<AdminTransport>>

/**
 * Inside the container: one request per line on stdin, to the MTA's admin API on loopback, and
 * one answer per line on stdout, matched by id (answers may come out of order).
 */
const SCRIPT = `const out=o=>process.stdout.write(JSON.stringify(o)+'\\n');` +
  `require('readline').createInterface({input:process.stdin}).on('line',l=>{const q=JSON.parse(l);` +
  `fetch('http://127.0.0.1:${ADMIN_PORT_IN_CONTAINER}'+q.path,{method:q.method,headers:q.headers,body:q.method==='GET'?undefined:q.body})` +
  `.then(async r=>out({id:q.id,status:r.status,statusText:r.statusText,contentType:r.headers.get('content-type')||'',text:await r.text()}),e=>out({id:q.id,error:String(e)}))})`

/**
 * Reaches an MTA's admin API from inside its own container, through one `docker exec -i` that
 * stays open and carries every request as a line: Swarm's routing mesh publishes ports on every
 * node, but not on every host (not on this project's CI machine), and a task's container always
 * has node and loopback. One exec per request cost a docker CLI start each (about 0.2 s of CPU),
 * which a scenario's sampling and traffic on two cores could not afford.
 *
 * The exec never keeps the CLI alive by itself: its handles are unref'd, and each request's own
 * deadline (a ref'd timer in AdminClient) keeps the process up while an answer is due.
 */
export class ExecBridge {
  private readonly child: ChildProcessWithoutNullStreams
  private readonly pending = new Map<number, { resolve: (a: Answer) => void, reject: (e: Error) => void }>()
  private nextId = 1
  private buffered = ''
  private ended: Error | undefined

  constructor (readonly container: string, engine: string | undefined) {
    this.child = spawn('docker', engineArgs(engine, ['exec', '-i', container, 'node', '-e', SCRIPT]), { stdio: ['pipe', 'pipe', 'pipe'] })
    let stderr = ''
    this.child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000) })
    this.child.stdout.on('data', (d: Buffer) => { this.take(d.toString()) })
    const end = (why: string): void => {
      this.ended ??= new Error(why)
      for (const p of this.pending.values()) p.reject(this.ended)
      this.pending.clear()
    }
    this.child.once('error', err => { end(`docker exec ${container}: ${err.message}`) })
    this.child.once('close', code => { end(`docker exec ${container} ended (${code ?? 'signal'})${stderr.trim() === '' ? '' : `: ${stderr.trim()}`}`) })
    this.child.stdin.on('error', () => undefined) // a closed exec is reported by 'close'
    this.child.unref()
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as { unref?: () => void }).unref?.()
  }

  /** Whether it can still carry requests (its exec has not ended: the container is gone or stopped). */
  get alive (): boolean {
    return this.ended === undefined
  }

  private take (chunk: string): void {
    this.buffered += chunk
    let nl: number
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl)
      this.buffered = this.buffered.slice(nl + 1)
      let a: Answer & { id: number, error?: string }
      try { a = JSON.parse(line) as typeof a } catch { continue }
      const p = this.pending.get(a.id)
      if (p === undefined) continue // its caller gave up
      this.pending.delete(a.id)
      if (a.error !== undefined) p.reject(new Error(a.error))
      else p.resolve({ status: a.status, statusText: a.statusText, contentType: a.contentType, text: a.text })
    }
  }

  readonly transport: AdminTransport = async (path, init, signal) => {
    if (this.ended !== undefined) throw this.ended
    const id = this.nextId++
    return await new Promise<Answer>((resolve, reject) => {
      const abandon = (): void => { this.pending.delete(id); reject(signal.reason instanceof Error ? signal.reason : new Error('aborted')) }
      if (signal.aborted) { abandon(); return }
      signal.addEventListener('abort', abandon, { once: true })
      this.pending.set(id, {
        resolve: a => { signal.removeEventListener('abort', abandon); resolve(a) },
        reject: e => { signal.removeEventListener('abort', abandon); reject(e) }
      })
      this.child.stdin.write(`${JSON.stringify({ id, path, method: init.method, headers: init.headers, body: init.body })}\n`)
    })
  }

  close (): void {
    this.child.stdin.end()
  }
}
