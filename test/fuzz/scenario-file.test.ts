import fc from 'fast-check'
import { stringify } from 'yaml'
import { describe, expect, it } from 'vitest'
import { expandSchedule, parseScenario, TopologyError } from '@xcon/core'
import { FUZZ_SEED, fuzzCount } from '../support/fuzz-inputs.js'

/**
 * A scenario file is a user's input: whatever it holds, parsing and expanding it ends in steps or
 * in a TopologyError that names the file, never in another exception (a TypeError from a value of
 * the wrong shape). Weighted toward the parts with the most shapes: nodes: and the faults.
 */
const TOPOLOGY = { sites: { S: { secret: 'x', servers: ['A', 'B', 'C'] } } }
const value: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('A', 'B', 'C', 'Z', '1', '2', 'all', '*', '', '5s', '300ms', 'soon', 'refuse'),
  fc.integer({ min: -3, max: 100 }), fc.double(), fc.boolean(), fc.constant(null),
  fc.array(fc.constantFrom('A', 'B', 'C', 'Z', 1, null), { maxLength: 4 }),
  fc.array(fc.array(fc.constantFrom('A', 'B', 'C', 'Z'), { maxLength: 3 }), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('from', 'to', 'A', '1'), fc.constantFrom('A', 'B', ['A', 'B'], 3, null), { maxKeys: 2 })
)
const fault = fc.dictionary(
  fc.constantFrom('at', 'for', 'kill', 'pause', 'flap', 'down', 'count', 'partition', 'latency', 'delay', 'mode', 'join', 'heal', 'fail-node', 'restore-node', 'random', 'jitter', 'x'),
  value, { maxKeys: 4 })
const file = fc.record({
  duration: fc.oneof(fc.constant('30s'), value),
  nodes: fc.oneof(value, fc.dictionary(fc.constantFrom('1', '2', '3'), value, { maxKeys: 3 })),
  faults: fc.oneof(fc.array(fault, { maxLength: 4 }), value),
  traffic: fc.oneof(fc.constant([]), value)
}, { requiredKeys: [] })

describe('a scenario file with anything in it', () => {
  it('gives fault steps or a TopologyError naming the file, never another exception', () => {
    fc.assert(fc.property(file, f => {
      try {
        const steps = expandSchedule(parseScenario(stringify({ topology: TOPOLOGY, ...f }), 'fuzz.yaml', () => '', 1))
        // What it gives is well formed: every step at a time, on servers of the topology.
        for (const s of steps) {
          expect(Number.isFinite(s.at)).toBe(true)
          expect(s.targets.every(t => ['A', 'B', 'C'].includes(t))).toBe(true)
        }
      } catch (err) {
        if (!(err instanceof TopologyError)) throw err
        expect(err.message).toContain('fuzz.yaml')
      }
    }), { seed: FUZZ_SEED, numRuns: fuzzCount(2000) })
  })
})
