import { describe, expect, it } from 'vitest'
import { parseTopology } from '@xcon/core'
import { LogStream, REORDER_MS, loadTopology, q260167Victim, tryHint } from '@xcon/cli'

const T0 = Date.parse('2026-12-01T10:00:00.000Z')
const line = (ms: number, server: string, fields: Record<string, unknown>): string =>
  JSON.stringify({ level: 'warn', time: new Date(T0 + ms).toISOString(), server, category: 'Resource', msg: 'text', ...fields })

function collect (json = false, filter?: { servers?: string[], events?: string[] }): { stream: LogStream, lines: string[] } {
  const lines: string[] = []
  return { stream: new LogStream({ json, colour: false, filter }, l => lines.push(l)), lines }
}

describe('xcon logs output', () => {
  it('merges lines from several sources in time order, holding each line a moment for older ones', () => {
    const { stream, lines } = collect(true)
    stream.add(line(100, 'SRV-B', { eventId: 9298 }), 'b', T0 + 150)
    stream.add(line(50, 'SRV-A', { eventId: 9298 }), 'a', T0 + 150)
    stream.pump(T0 + 150) // both younger than REORDER_MS: nothing yet
    expect(lines).toEqual([])
    stream.add(line(120, 'SRV-C', { eventId: 9298 }), 'c', T0 + 200)
    stream.pump(T0 + 120 + REORDER_MS)
    expect(lines.map(l => JSON.parse(l).server)).toEqual(['SRV-A', 'SRV-B', 'SRV-C'])
  })

  it('folds identical repeats in the readable form, keeps every JSON line, and stays in time order', () => {
    const feed = (s: LogStream): void => {
      for (let i = 0; i < 30; i++) s.add(line(i * 400, 'SRV-A', { eventId: 9156, msg: 'A resource limit has been reached' }), 'a')
      s.add(line(3000, 'SRV-B', { tag: 'leak', msg: 'control block 7 was not returned' }), 'b')
      s.end()
    }
    const json = collect(true)
    feed(json.stream)
    expect(json.lines).toHaveLength(31)
    const pretty = collect(false)
    feed(pretty.stream)
    expect(pretty.lines.filter(l => l.includes('A resource limit') && !l.includes('×'))).toHaveLength(1)
    const folds = pretty.lines.filter(l => / 9156 .*×\d+ more in \d+\.\d s: "A resource limit has been reached" \(first at 10:00:/.test(l))
    expect(folds.map(l => Number(/×(\d+)/.exec(l)![1])).reduce((a, b) => a + b, 0)).toBe(29)
    expect(pretty.lines.some(l => /SRV-B\s+leak\s+Resource/.test(l))).toBe(true)
    const times = pretty.lines.map(l => l.slice(0, 12))
    expect([...times].sort()).toEqual(times)
  })

  it('shows a single repeat as the line itself, not as a fold of one', () => {
    const pretty = collect(false)
    pretty.stream.add(line(0, 'SRV-A', { eventId: 9318, msg: 'The association with SRV-D failed' }), 'a')
    pretty.stream.add(line(1600, 'SRV-A', { eventId: 9318, msg: 'The association with SRV-D failed' }), 'a')
    pretty.stream.end()
    expect(pretty.lines).toHaveLength(2)
    expect(pretty.lines.every(l => l.includes('The association with SRV-D failed') && !l.includes('×'))).toBe(true)
    expect(pretty.lines[1]).toMatch(/^10:00:01\.600/)
  })

  it('filters by server and by event ID or tag', () => {
    const { stream, lines } = collect(true, { servers: ['srv-a'], events: ['9156', 'action'] })
    stream.add(line(1, 'SRV-A', { eventId: 9156 }))
    stream.add(line(2, 'SRV-A', { eventId: 9318 }))
    stream.add(line(3, 'SRV-B', { eventId: 9156 }))
    stream.add(line(4, 'SRV-A', { tag: 'action', msg: 'killed by xcon kill' }))
    stream.add('not a log line')
    stream.end()
    expect(lines.map(l => JSON.parse(l).time.slice(-5))).toEqual(['.001Z', '.004Z'])
  })
})

describe('the hint after xcon up', () => {
  it('names a kill that makes pre-SP4 MTAs of the same site leak, with --data', () => {
    const two = loadTopology({ topologyFile: 'examples/two-sites.yaml' })
    expect(q260167Victim(two)).toEqual({ server: 'SRV-C', leakers: ['SRV-A', 'SRV-B'] })
    const [first] = tryHint(two, '--data /tmp/x')
    expect(first).toMatch(/^Try: npx xcon --data \/tmp\/x kill SRV-C /)
    const sp4 = parseTopology('sites: { S: { secret: s, servers: [A, B] } }\ndefaults: { build: 2653 }\n', 'sp4.yaml')
    expect(q260167Victim(sp4)).toBeUndefined()
    expect(tryHint(sp4, '')[0]).toMatch(/no kill reproduces Q260167/)
  })
})
