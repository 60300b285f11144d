/**
 * Creating an account in the app: "Create account" says to check the mail (the server answers
 * the same for any email); the mailed link (`#/confirm/<token>`) signs in; a used link says so.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { confirmationToken, waitForMail } from '../../sync-server/test/support/accounts';
import { inboxReady, launchBrowser, newContext } from './support/browser';
import { e2eMailDir } from './support/sync-server';

const apiUrl = inject('apiUrl');
const appUrl = inject('appUrl');

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

it('create account → "check your email"; the mailed link signs in and leaves the address bar; opened again it is refused with a clear message', async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  const email = `reg.${Date.now().toString(36)}@e2e.test`;
  await page.goto(appUrl);
  await page.getByRole('button', { name: 'Create account' }).first().click();
  await page.getByLabel('Name').fill('Rhea Registered');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('e2e-password-123');
  await page.getByRole('button', { name: 'Create account' }).last().click();
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'Check your email' }).textContent()).toContain(email);

  const mail = await waitForMail(e2eMailDir(apiUrl), email);
  expect(mail.link?.startsWith(`${appUrl}/#/confirm/`)).toBe(true);
  // As from a mail client: a new tab (the app reads the link at start).
  const opened = await context.newPage();
  await opened.goto(mail.link!);
  await inboxReady(opened);
  expect(new URL(opened.url()).hash).not.toContain(confirmationToken(mail.link));

  const other = await (await newContext(browser)).newPage();
  await other.goto(mail.link!);
  await expect.poll(() => other.getByRole('status').filter({ hasText: 'confirmation link does not work' }).count()).toBe(1);
  expect(new URL(other.url()).hash).toBe('');
  await other.context().close();
  await context.close();
}, 90_000);

it('the mailed link opened in the tab that still shows "check your email" signs in there too', async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  const email = `reg.same.${Date.now().toString(36)}@e2e.test`;
  await page.goto(appUrl);
  await page.getByRole('button', { name: 'Create account' }).first().click();
  await page.getByLabel('Name').fill('Sam Sametab');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('e2e-password-123');
  await page.getByRole('button', { name: 'Create account' }).last().click();
  await page.getByRole('status').filter({ hasText: 'Check your email' }).waitFor();
  const mail = await waitForMail(e2eMailDir(apiUrl), email);
  // Same document, only the hash changes (no reload).
  await page.evaluate((link) => {
    location.hash = new URL(link).hash;
  }, mail.link!);
  await inboxReady(page);
  expect(new URL(page.url()).hash).not.toContain(confirmationToken(mail.link));
  await context.close();
}, 90_000);
