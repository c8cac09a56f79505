import { join } from 'node:path'
import { runScenario, type RunResult } from './run-scenario.js'

export interface SoakOptions {
  file: string
  seeds: number[]
  outDir: string
  out: (line: string) => void
}

/** One seed's line of the soak table. */
export interface SoakRow {
  seed: number
  verdict: string
  submitted: number
  recipients: number
  delivered: number
  lost: number
  duplicated: number
  ndr: number
  pending: number
  faults: number
  seconds: number
}

/**
 * A soak: the same scenario (random faults, SP3 and SP4 mixed) once per seed, each on a site of
 * its own, and a table of what every run lost, duplicated and answered with NDRs. Seeds replay
 * exactly: `xcon scenario run FILE --seed N` runs one again with its report. Exits 0 only when no
 * run lost or duplicated anything.
 */
export async function soak (opts: SoakOptions): Promise<{ rows: SoakRow[], exitCode: number }> {
  const rows: SoakRow[] = []
  for (const seed of opts.seeds) {
    const run: RunResult = await runScenario({ file: opts.file, seed, outDir: join(opts.outDir, `seed-${seed}`), progress: false, out: () => undefined })
    const c = run.result.counts
    const row = {
      seed, verdict: run.result.verdict, submitted: c.submitted, recipients: c.recipients, delivered: c.delivered,
      lost: c.lost, duplicated: c.duplicated, ndr: c.ndr, pending: c.pending, faults: run.faultSteps, seconds: Math.round(run.wallMs / 1000)
    }
    rows.push(row)
    opts.out(`seed ${seed}: ${row.verdict}, ${row.recipients} recipients, ${row.delivered} delivered once, ${row.lost} lost, ${row.duplicated} duplicated, ${row.ndr} NDRs, ${row.pending} still queued, ${row.faults} fault steps, ${row.seconds} s`)
  }
  const total = (k: keyof SoakRow): number => rows.reduce((n, r) => n + (r[k] as number), 0)
  opts.out(`soak: ${rows.length} seeds, ${total('recipients')} recipients, ${total('lost')} lost, ${total('duplicated')} duplicated, ${total('ndr')} NDRs; runs under ${opts.outDir}`)
  return { rows, exitCode: total('lost') === 0 && total('duplicated') === 0 ? 0 : 1 }
}
