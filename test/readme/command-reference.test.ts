import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildProgram, commandReference } from '@xcon/cli'

describe('docs/commands.md', () => {
  it('is what the commander definitions print today (npm run docs writes it)', () => {
    const file = readFileSync(resolve(import.meta.dirname, '../../docs/commands.md'), 'utf8')
    expect(file).toBe(commandReference(buildProgram(() => {}, () => {})))
  })
})
