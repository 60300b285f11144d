import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  composer,
  conversationRow,
  launchBrowser,
  messageBubble,
  openAs,
  openConversation,
  registerUser,
  screenshot,
  send,
  waitForStatusAtLeast,
} from './support/browser';
import { rest, restSend } from './support/rest';
import { REPO_ROOT } from './support/sync-server';

const apiUrl = inject('apiUrl');
const appUrl = inject('appUrl');

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('the inbox as the README shows it', () => {
  it('renders a realistic inbox: jobs, unread badges, ticks, edits and day separators', async () => {
    const client = await registerUser(apiUrl, 'Maya Chen');
    const dev = await registerUser(apiUrl, 'Jonas Weber');
    const designer = await registerUser(apiUrl, 'Priya Raman');
    const writer = await registerUser(apiUrl, 'Tom Okafor');

    const jobChat = await rest<{ id: string }>(apiUrl, dev, 'POST', '/api/messages/conversations', {
      participantId: client.id,
      jobId: '64f1a0c2e4b0a1b2c3d4e5f6',
    });
    await rest(apiUrl, dev, 'POST', `/api/messages/conversations/${encodeURIComponent(jobChat.id)}/messages`, {
      content: 'Hi Maya! I read the brief for the booking app. A few questions before I send a quote.',
    });
    await restSend(apiUrl, writer, client, 'Draft of the landing page copy is in the shared folder.');
    await restSend(apiUrl, designer, client, 'Here are two logo directions, the second one uses your brand blue.');
    await restSend(apiUrl, designer, client, 'Happy to walk you through them tomorrow.');

    const m = await openAs(browser, appUrl, client);
    // Jonas has the app open too, so the picture shows presence.
    const j = await openAs(browser, appUrl, dev);
    try {
      await conversationRow(m.page, designer.name).locator('.badge', { hasText: '2' }).waitFor();
      await openConversation(m.page, dev.name);
      await send(m.page, 'Sure, ask away. Timeline is about six weeks.');
      await rest(apiUrl, dev, 'POST', `/api/messages/conversations/${encodeURIComponent(jobChat.id)}/messages`, {
        content: 'Do you need offline support on Android too, or only the web app?',
      });
      await messageBubble(m.page, 'offline support on Android').waitFor();
      const answer = await send(m.page, 'Both, please. The field staff work with poor reception.');
      await answer.hover();
      await answer.getByRole('button', { name: 'Edit message' }).click();
      await composer(m.page).fill('Both, please. Our field staff often work with poor reception.');
      await composer(m.page).press('Enter');
      await messageBubble(m.page, 'Our field staff').locator('.edited-marker').waitFor();
      await waitForStatusAtLeast(messageBubble(m.page, 'Our field staff'), 'sent');
      // Move the pointer off the bubbles so no hover actions show in the picture.
      await m.page.mouse.move(5, 300);
      await m.page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
      await m.page.locator('.pwa-toast').waitFor({ state: 'detached' });
      await expect.poll(() => m.page.locator('.conversation-name').count()).toBe(3);
      await m.page.getByTestId('presence').filter({ hasText: 'Online' }).waitFor();
      await m.page.locator('.composer-input').blur();

      const path = await screenshot(m.page, 'inbox');
      if (process.env.UPDATE_DOCS_SCREENSHOT === '1') {
        mkdirSync(join(REPO_ROOT, 'docs'), { recursive: true });
        copyFileSync(path, join(REPO_ROOT, 'docs', 'screenshot-inbox.png'));
      }
    } finally {
      await m.context.close();
      await j.context.close();
    }
  });
});
