import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

/**
 * RxDB's dev-mode injects a remote iframe (rxdb.info) and a schema validator: useful in
 * development, never acceptable in what users install. The data layer only imports it behind
 * `import.meta.env.DEV`; this guard turns a regression into a failed build instead of a
 * silently shipped iframe.
 */
function forbidRxdbDevMode(): Plugin {
  return {
    name: 'fetchwork:forbid-rxdb-dev-mode',
    apply: 'build',
    generateBundle() {
      const offenders = [...this.getModuleIds()].filter((id) => /rxdb[\\/].*plugins[\\/]dev-mode/.test(id));
      if (offenders.length > 0) {
        this.error(`RxDB dev-mode must not ship in a production build; it was bundled from:\n  ${offenders.join('\n  ')}`);
      }
    },
  };
}

// Tells deployments apart (shown as data-build on <html>); the e2e suite sets it to prove that a
// new deployment reaches an open tab through the reload prompt.
process.env.VITE_APP_BUILD ??= new Date().toISOString();

export default defineConfig({
  plugins: [
    react(),
    forbidRxdbDevMode(),
    VitePWA({
      // 'prompt': a new version waits until the user agrees to reload, so a half-typed
      // message is never lost to an automatic reload (sw.ts only skips waiting when asked).
      registerType: 'prompt',
      injectRegister: false,
      includeAssets: ['favicon.svg', 'apple-touch-icon.png'],
      manifest: {
        name: 'FetchWork Messaging',
        short_name: 'FetchWork',
        description: 'The FetchWork inbox: works offline, syncs in real time.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#f6f7fb',
        theme_color: '#1f5eff',
        icons: [
          { src: 'pwa-192x192.png', sizes: '192x192', type: 'image/png' },
          { src: 'pwa-512x512.png', sizes: '512x512', type: 'image/png' },
          { src: 'maskable-512x512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      // Our own service worker (src/sw/sw.ts): workbox's precache and offline shell as before,
      // plus push notifications and background send, which generateSW cannot add.
      strategies: 'injectManifest',
      srcDir: 'src/sw',
      filename: 'sw.ts',
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,svg,png,ico,webmanifest}'],
        // The RxDB + Dexie chunk is larger than workbox's 2 MiB default; without it in the
        // precache the installed app could not open offline.
        maximumFileSizeToCacheInBytes: 5 * 1024 * 1024,
      },
      devOptions: { enabled: false },
    }),
  ],
  server: { port: 3000, strictPort: true },
  // The data layer is imported lazily after sign-in; scanning it up front spares the dev server
  // a dependency re-optimisation (and a page reload) on the first sign-in.
  optimizeDeps: { entries: ['index.html', 'src/inbox/create-inbox.ts', 'src/sync/presence-client.ts', 'src/db/dev-mode.ts'] },
  preview: { port: 3000, strictPort: true },
  build: {
    // tsc -b writes declarations into dist/; the app gets its own folder so neither empties
    // the other's output.
    outDir: 'dist/app',
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
  },
});
