import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/summaryReporter.ts'],
    environment: 'node',
    // The AWS SDK warns once per process that its releases after January 2027 want Node 22; the image runs Node 24,
    // and the notice is noise in every test file that stores into a bucket.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // One throwaway database for the run, migrated once; tests get its URL through inject('databaseUrl'). The console is
    // built when its build is missing or stale: the relay serves it, the browser tests open it.
    globalSetup: ['test/globalSetup.ts', 'test/console/buildConsole.ts'],
    // Integration tests talk to real Postgres, Redis and HTTP servers; waits there are seconds, not hangs.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // Files run side by side (the machine has 2 cores): tests isolate by unique ids, queue names and API keys.
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
  },
});
