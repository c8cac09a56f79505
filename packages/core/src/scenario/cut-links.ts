import type { FaultStep } from './scenario.js'

/**
 * The directed links a partition step cuts, as [from, to]: between every two of its groups, or
 * with `oneWay` only from the first group to the second (the associations the first group opens;
 * those the second group opens stay up).
 */
export function cutLinks <S extends Pick<FaultStep, 'groups' | 'oneWay'>> (step: S): Array<[string, string]> {
  const groups = step.groups ?? []
  const links: Array<[string, string]> = []
  for (let i = 0; i < groups.length; i++) {
    for (let j = 0; j < groups.length; j++) {
      if (i === j || (step.oneWay === true && !(i === 0 && j === 1))) continue
      for (const a of groups[i]!) for (const b of groups[j]!) links.push([a, b])
    }
  }
  return links
}
