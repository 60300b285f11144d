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
    // A browser on a loaded 2-core machine can take more than vitest's default second to show a
    // change (a service worker's notification failed CI that way): a poll waits up to 15 s.
    expect: { poll: { timeout: 15_000 } },
    reporters: ['verbose'],
  },
});
