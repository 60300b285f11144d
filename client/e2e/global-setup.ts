import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type AppServer, buildApp, serveApp } from './support/app-server';
import { freePort } from './support/ports';
import { type SyncServerProcess, startSyncServerProcess } from './support/sync-server';

declare module 'vitest' {
  export interface ProvidedContext {
    apiUrl: string;
    appUrl: string;
    appOutDir: string;
    /** Ports the server already accepts as origins, for tests that serve the app themselves. */
    spareAppPorts: number[];
  }
}

let server: SyncServerProcess | undefined;
let app: AppServer | undefined;
let buildRoot: string | undefined;

/** One sync server and one built, served app for the whole run; tests isolate by fresh users. */
export async function setup(project: TestProject) {
  const started = Date.now();
  const [apiPort, appPort, ...spareAppPorts] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const origins = [appPort, ...spareAppPorts].map((p) => `http://127.0.0.1:${p}`);
  buildRoot = mkdtempSync(join(tmpdir(), 'fw-e2e-app-'));
  const appOutDir = join(buildRoot, 'v1');
  const apiUrl = `http://127.0.0.1:${apiPort}`;

  [server] = await Promise.all([
    startSyncServerProcess({ port: apiPort as number, clientOrigins: origins }),
    buildApp({ outDir: appOutDir, apiUrl, buildId: 'e2e-v1' }),
  ]);
  app = await serveApp({ outDir: appOutDir, port: appPort as number });
  console.log(`[e2e] server ${apiUrl}, app ${app.url} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  project.provide('apiUrl', apiUrl);
  project.provide('appUrl', app.url);
  project.provide('appOutDir', appOutDir);
  project.provide('spareAppPorts', spareAppPorts);
}

export async function teardown() {
  await app?.stop();
  await server?.stop();
  if (buildRoot) rmSync(buildRoot, { recursive: true, force: true });
}
