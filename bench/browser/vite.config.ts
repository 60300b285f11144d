import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * Builds the bench page (bench/browser/index.html → bench/browser/dist). It imports the client
 * data layer from client/src directly; client/vite.config.ts (the app, PWA) is not involved.
 */
export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  resolve: { alias: { ws: `${here}ws-shim.ts` } },
  build: {
    outDir: `${here}dist`,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // Readable names in CPU profiles (BENCH_BROWSER_PROF); V8 runs it as fast as the minified app.
    minify: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 10_000,
  },
});
