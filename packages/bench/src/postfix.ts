import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePorts } from '@xcon/cli'

const run = promisify(execFile)
const SBIN = ['/usr/sbin', '/usr/bin', '/sbin', '/bin']

export type PostfixResult =
  | { ran: true, messages: number, delivered: number, seconds: number, rate: number, complete: boolean }
  | { ran: false, why: string }

function find (tool: string): string | undefined {
  return SBIN.map(d => join(d, tool)).find(p => existsSync(p))
}

/**
 * A private Postfix instance on loopback, with its own configuration and disk queue under a
 * temporary directory (the system's Postfix, if any, is not touched): smtp-source submits
 * `messages` 1 KiB messages over 20 sessions to its smtpd, which queues each on disk (fsync)
 * before 250; its qmgr relays them to smtp-sink. Timed from the first connection to the last
 * message at the sink, bounded by `maxSeconds` (a partial count then gives the rate).
 * Needs root (Postfix's master starts as root and drops to mail_owner).
 */
export async function postfixRelay (messages: number, maxSeconds: number): Promise<PostfixResult> {
  const postfix = find('postfix')
  const source = find('smtp-source')
  const sink = find('smtp-sink')
  if (postfix === undefined || source === undefined || sink === undefined) return { ran: false, why: 'Postfix is not installed (apt-get install postfix: it brings smtp-source and smtp-sink)' }
  if (process.getuid?.() !== 0) return { ran: false, why: 'a private Postfix instance needs root to start' }
  const owner = (await run('postconf', ['-dh', 'mail_owner'])).stdout.trim() || 'postfix'
  const uid = Number((await run('id', ['-u', owner])).stdout.trim())

  const dir = mkdtempSync(join(tmpdir(), 'xcon-bench-postfix-'))
  chmodSync(dir, 0o755) // mkdtemp makes it 0700: Postfix's daemons run as mail_owner and must reach data/ and queue/
  const [smtpdPort, sinkPort] = await freePorts(2)
  const conf = join(dir, 'conf')
  mkdirSync(conf)
  mkdirSync(join(dir, 'queue'))
  mkdirSync(join(dir, 'data'))
  chownSync(join(dir, 'data'), uid, -1)
  // Postfix defaults otherwise (qmgr, 20 connections per destination, a disk queue that fsyncs);
  // no chroot, no TLS, no local delivery: a relay from loopback to loopback.
  writeFileSync(join(conf, 'main.cf'), [
    'compatibility_level = 3.6',
    `queue_directory = ${join(dir, 'queue')}`,
    `data_directory = ${join(dir, 'data')}`,
    `mail_owner = ${owner}`,
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'myhostname = bench.localdomain',
    'mydestination =',
    'relay_domains = bench.test',
    `relayhost = [127.0.0.1]:${sinkPort}`,
    'mynetworks = 127.0.0.0/8',
    'smtpd_relay_restrictions = permit_mynetworks, reject',
    `maillog_file = ${join(dir, 'maillog')}`,
    `maillog_file_prefixes = ${dir}`,
    'alias_maps =',
    'alias_database =',
    'local_recipient_maps =',
    'smtp_tls_security_level = none',
    'smtpd_tls_security_level = none',
    ''
  ].join('\n'))
  writeFileSync(join(conf, 'master.cf'), [
    `127.0.0.1:${smtpdPort} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
    ''
  ].join('\n'))

  let sinkProc: ChildProcess | undefined
  let sourceProc: ChildProcess | undefined
  try {
    try {
      await run(postfix, ['-c', conf, 'start'])
    } catch (err) {
      const lines = existsSync(join(dir, 'maillog')) ? readFileSync(join(dir, 'maillog'), 'utf8').trim().split('\n') : []
      const log = (lines.find(l => l.includes('fatal:')) ?? lines.at(-1) ?? '').replace(/^.*?postfix\/\S+: /, '')
      return { ran: false, why: `the private Postfix did not start: ${log || (err as Error).message}` }
    }
    // smtp-sink -c prints its running counters ("... mesg=N") on stdout.
    let delivered = 0
    sinkProc = spawn(sink, ['-u', owner, '-c', `127.0.0.1:${sinkPort}`, '1000'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let tail = ''
    sinkProc.stdout!.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString('latin1')).slice(-200)
      const all = [...tail.matchAll(/mesg=(\d+)/g)]
      if (all.length > 0) delivered = Math.max(delivered, Number(all.at(-1)![1]))
    })
    await new Promise(resolve => setTimeout(resolve, 300))
    const started = Date.now()
    sourceProc = spawn(source, ['-s', '20', '-m', String(messages), '-l', '1024', '-f', 'bench@bench.test', '-t', 'sink@bench.test', `127.0.0.1:${smtpdPort}`], { stdio: 'ignore' })
    while (delivered < messages && Date.now() - started < maxSeconds * 1000) await new Promise(resolve => setTimeout(resolve, 100))
    const seconds = (Date.now() - started) / 1000
    return { ran: true, messages, delivered, seconds, rate: delivered / seconds, complete: delivered >= messages }
  } finally {
    sourceProc?.kill('SIGKILL')
    try { await run(postfix, ['-c', conf, 'abort']) } catch { /* not running */ }
    sinkProc?.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}
