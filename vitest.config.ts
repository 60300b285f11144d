import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared-schema/test/**/*.test.ts', 'sync-server/test/**/*.test.ts', 'client/test/**/*.test.ts', 'bench/test/**/*.test.ts', 'chaos/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/e2e/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
