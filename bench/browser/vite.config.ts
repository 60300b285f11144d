import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
// BENCH_CLIENT_SRC=<dir>: the page bundles that copy of client/src (an A/B of a client change),
// into its own output directory (bench/lib/browser.ts).
const clientSrc = process.env.BENCH_CLIENT_SRC ? resolve(process.env.BENCH_CLIENT_SRC) : null;

/**
 * Builds the bench page (bench/browser/index.html → bench/browser/dist). It imports the client
 * data layer from client/src directly; client/vite.config.ts (the app, PWA) is not involved.
 */
export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  resolve: {
    alias: [
      { find: 'ws', replacement: `${here}ws-shim.ts` },
      ...(clientSrc ? [{ find: /^(\.\.\/)+client\/src\//, replacement: `${clientSrc}/` }] : []),
    ],
  },
  build: {
    outDir: clientSrc ? `${here}dist-client-copy` : `${here}dist`,
    emptyOutDir: true,
    target: 'es2022',
    // Profiles are summarised by original source (bench/lib/profile-sources.ts).
    sourcemap: true,
    // Readable names in CPU profiles (BENCH_BROWSER_PROF); V8 runs it as fast as the minified app.
    minify: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 10_000,
  },
});
