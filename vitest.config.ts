import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Real processes and real kernel queues: give spawns room, never retry.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    retry: 0,
    // Tests in different files share the machine's queue budget; two workers
    // match the two cores and keep the per-user budget in reach.
    maxWorkers: 2,
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
})
