import type { Reporter, TestCase, TestModule } from 'vitest/node'

/**
 * Prints one plain closing line, `N passed, N failed, N skipped`, which CI reads. A test file that
 * fails to load, and an unhandled error, each count as a failure, so a run that executes nothing
 * cannot look green.
 */
export default class SummaryReporter implements Reporter {
  private passed = 0
  private failed = 0
  private skipped = 0

  onTestCaseResult (testCase: TestCase): void {
    const state = testCase.result().state
    if (state === 'passed') this.passed++
    else if (state === 'failed') this.failed++
    else if (state === 'skipped') this.skipped++
  }

  onTestRunEnd (modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const brokenModules = modules.filter(m => m.state() === 'failed' && [...m.children.allTests()].length === 0).length
    const failed = this.failed + brokenModules + unhandledErrors.length
    process.stdout.write(`\n${this.passed} passed, ${failed} failed, ${this.skipped} skipped\n`)
  }
}
