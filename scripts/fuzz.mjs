#!/usr/bin/env node
// npm run fuzz -- --count N [--seed S]: the fuzz tests of test/fuzz with N random frames sent to
// the association listener (12,000 in npm test); the other fuzz tests grow in proportion.
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'

const CI_COUNT = 12_000
const { values } = parseArgs({ options: { count: { type: 'string', default: '100000' }, seed: { type: 'string' } } })
const count = Number(values.count)
if (!Number.isInteger(count) || count <= 0) {
  console.error(`npm run fuzz -- --count N: N frames for the association listener (npm test sends ${CI_COUNT})`)
  process.exit(2)
}
const scale = count / CI_COUNT
const env = { ...process.env, XCON_FUZZ_SCALE: String(scale), ...(values.seed === undefined ? {} : { XCON_FUZZ_SEED: values.seed }) }
console.log(`fuzz: ${count} frames to the listener, other inputs x${scale.toFixed(2)}, seed ${values.seed ?? 'the default (260167)'}`)
const r = spawnSync('npx', ['vitest', 'run', 'test/fuzz', '--testTimeout', String(Math.ceil(120_000 * Math.max(1, scale)))], { stdio: 'inherit', env })
process.exit(r.status ?? 1)
