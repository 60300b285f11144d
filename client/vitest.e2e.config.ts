import { defineConfig } from 'vitest/config';

/**
 * Browser tests: real sync server, production build served by vite preview, Debian's Chromium
 * driven by playwright-core. Separate from the root config, which excludes e2e/.
 */
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['e2e/**/*.e2e.ts'],
    globalSetup: ['e2e/global-setup.ts'],
    // Two cores and several browser contexts per test: files run one after another.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['verbose'],
  },
});
