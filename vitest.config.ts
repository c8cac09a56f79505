import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Process tests start real MTAs; give them room, and never run two heavy files at once on 2 cores.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts']
  }
})
