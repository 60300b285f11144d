import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AppServer, buildApp, serveApp } from './support/app-server';
import { collectConsoleErrors, launchBrowser, newContext, pageErrors, screenshot } from './support/browser';

const apiUrl = inject('apiUrl');
const appUrl = inject('appUrl');
const appOutDir = inject('appOutDir');
const [updatePort] = inject('spareAppPorts');

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('installable app', () => {
  it('serves a manifest with icons and shows the demo accounts on the sign-in screen', async () => {
    const manifest = (await (await fetch(`${appUrl}/manifest.webmanifest`)).json()) as {
      name: string;
      display: string;
      start_url: string;
      icons: { src: string; sizes: string; type: string; purpose?: string }[];
    };
    expect(manifest.name).toBe('FetchWork Messaging');
    expect(manifest.display).toBe('standalone');
    expect(manifest.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
    expect(manifest.icons.some((i) => i.purpose === 'maskable')).toBe(true);
    for (const icon of manifest.icons) {
      const res = await fetch(`${appUrl}/${icon.src}`);
      expect(res.status, icon.src).toBe(200);
      expect(res.headers.get('content-type')).toContain('image/png');
    }

    const context = await newContext(browser);
    const page = await context.newPage();
    collectConsoleErrors(page);
    await page.goto(appUrl);
    await expect.poll(() => page.locator('link[rel="manifest"]').getAttribute('href')).toBe('/manifest.webmanifest');
    const demo = page.getByRole('region', { name: 'Demo accounts' });
    await demo.waitFor();
    for (const email of ['alice@fetchwork.dev', 'bob@fetchwork.dev', 'carol@fetchwork.dev']) {
      await demo.getByText(email).waitFor();
    }
    await screenshot(page, 'sign-in');

    // What the screen shows must actually sign in against the seeded server.
    await page.getByRole('button', { name: "Use Bob Freelancer's demo account" }).click();
    await page.getByRole('button', { name: 'Sign in', exact: true }).last().click();
    await page.getByRole('heading', { name: /^Inbox/ }).waitFor();
    await page.locator('.conversation-name', { hasText: 'Alice Client' }).waitFor();
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  it('rejects a wrong password with a message, without leaving the sign-in screen', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(appUrl);
    await page.getByLabel('Email').fill('alice@fetchwork.dev');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).last().click();
    await page.getByRole('alert').filter({ hasText: /wrong/i }).waitFor();
    await context.close();
  });

  it('precaches the shell, opens with the server gone, and offers a reload when a new version is deployed', async () => {
    if (updatePort === undefined) throw new Error('no spare port');
    let server: AppServer | undefined = await serveApp({ outDir: appOutDir, port: updatePort });
    const v2Root = mkdtempSync(join(tmpdir(), 'fw-e2e-v2-'));
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await page.getByLabel('Email').waitFor();
      expect(await page.locator('html').getAttribute('data-build')).toBe('e2e-v1');
      // The shell is precached once the worker is active.
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));

      // Nothing listens on the app's origin any more, and the browser is offline.
      await server.stop();
      server = undefined;
      await context.setOffline(true);
      await page.reload();
      await page.getByLabel('Email').waitFor();
      expect(page.url()).not.toContain('chrome-error');
      await context.setOffline(false);

      // Deploy a new version on the same origin.
      const v2Dir = join(v2Root, 'v2');
      await buildApp({ outDir: v2Dir, apiUrl, buildId: 'e2e-v2' });
      server = await serveApp({ outDir: v2Dir, port: updatePort });

      // A navigation checks for a new worker; the open page keeps the version it runs and asks.
      await page.reload();
      const prompt = page.getByRole('alert').filter({ hasText: 'A new version of FetchWork Messaging is available.' });
      await prompt.waitFor();
      expect(await page.locator('html').getAttribute('data-build')).toBe('e2e-v1');
      await screenshot(page, 'update-prompt');
      await prompt.getByRole('button', { name: 'Reload' }).click();
      await expect.poll(() => page.locator('html').getAttribute('data-build'), { timeout: 30_000 }).toBe('e2e-v2');
      await page.getByLabel('Email').waitFor();
    } finally {
      await context.close();
      await server?.stop();
      rmSync(v2Root, { recursive: true, force: true });
    }
  });
});
