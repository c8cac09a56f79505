import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

export const ROOT = resolve(import.meta.dirname, '../..')
export const README = readFileSync(resolve(ROOT, 'README.md'), 'utf8')

/** One ```sh block of the README, named by the `<!-- readme-test: NAME -->` line above it (undefined: none). */
export interface ReadmeBlock { name: string | undefined, lines: string[], line: number }

export function readmeBlocks (text = README): ReadmeBlock[] {
  const lines = text.split('\n')
  const blocks: ReadmeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```sh') continue
    const marker = /^<!-- readme-test: (\S+) -->$/.exec(lines[i - 1] ?? '')
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length && lines[j] !== '```'; j++) body.push(lines[j]!)
    blocks.push({ name: marker?.[1], lines: body, line: i + 1 })
    i = j
  }
  return blocks
}

/** The lines of the block called `name`. */
export function block (name: string): string[] {
  const b = readmeBlocks().find(x => x.name === name)
  if (b === undefined) throw new Error(`README.md has no block marked readme-test: ${name}`)
  return b.lines
}

/** The test files each `<!-- checked-by: … -->` of the README names. */
export function checkedBy (text = README): string[] {
  return [...text.matchAll(/<!-- checked-by: ([^>]+) -->/g)].flatMap(m => m[1]!.trim().split(/\s+/))
}

/** Every `npx xcon …` the README asks the reader to type: in its blocks, and in its inline code. */
export function xconCommands (text = README): string[] {
  const inBlocks = readmeBlocks(text).flatMap(b => b.lines)
  const inline = [...text.matchAll(/`(npx xcon [^`]*)`/g)].map(m => m[1]!)
  return [...inBlocks, ...inline].filter(l => l.startsWith('npx xcon ') && !l.includes('…'))
}
