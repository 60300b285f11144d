import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page, type WebSocketRoute } from 'playwright-core';
import { registerAndConfirm } from '../../../sync-server/test/support/accounts';
import { e2eMailDir, REPO_ROOT } from './sync-server';

/** Flags that work as root on these machines; no browser is ever downloaded. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const ARTIFACTS_DIR = join(REPO_ROOT, 'test-artifacts');

/** How long a UI state may take to appear. Generous: this is a wait, not a timing assertion. */
export const UI_TIMEOUT = 30_000;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/**
 * A browser whose pages Chromium can hide and freeze. Playwright turns on focus emulation for
 * every page of the contexts it creates, and an emulated page counts as captured, which keeps it
 * visible: CDP's Page.setWebLifecycleState('frozen') is then ignored and no `freeze` event fires.
 * So this Chromium is started here and attached to without Playwright's defaults, and its own
 * default context is used (one profile, so its tabs share IndexedDB and Web Locks).
 */
export async function launchFreezableBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'fw-e2e-freeze-'));
  const child = spawn(
    process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    [...CHROMIUM_ARGS, '--remote-debugging-port=0', `--user-data-dir=${profile}`, '--window-size=1280,800', 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const endpoint = await new Promise<string>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`chromium did not start:\n${err}`)), 30_000);
    child.stderr?.on('data', (d) => {
      err += d;
      const found = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (found?.[1]) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`chromium exited (${code}):\n${err}`)));
  });
  const browser = await chromium.connectOverCDP(endpoint, { noDefaults: true });
  const context = browser.contexts()[0] as BrowserContext;
  context.setDefaultTimeout(UI_TIMEOUT);
  return {
    context,
    async close() {
      await browser.close().catch(() => undefined);
      child.kill('SIGTERM');
      await exited;
      // Best effort: Chromium's helpers can still be writing into the profile for a moment.
      try {
        rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
      } catch {
        // a leftover temp dir is harmless
      }
    },
  };
}

/** A short random tag that keeps one test's names and texts apart from every other's on the shared server. */
export const tag = (): string => Math.random().toString(36).slice(2, 7);

export interface TestUser {
  id: string;
  name: string;
  email: string;
  password: string;
  token: string;
}

let userCounter = 0;

/** A fresh account through the real REST endpoints (register, the mailed link, confirm): every test starts with users nobody else touched. */
export async function registerUser(apiUrl: string, name: string): Promise<TestUser> {
  userCounter += 1;
  const email = `${name.toLowerCase().replace(/[^a-z]/g, '')}.${Date.now().toString(36)}${userCounter}${Math.random().toString(36).slice(2, 6)}@e2e.test`;
  const password = 'e2e-password-123';
  // Registered and confirmed through the mailed link, which the e2e server writes to MAIL_DIR.
  const confirmed = await registerAndConfirm({ url: apiUrl, mailDir: e2eMailDir(apiUrl) }, { name, email, password });
  return { ...confirmed.user, password, token: confirmed.token };
}

export async function newContext(browser: Browser, options: { phone?: boolean } = {}): Promise<BrowserContext> {
  const context = await browser.newContext(
    options.phone
      ? { viewport: { width: 390, height: 780 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
      : { viewport: { width: 1280, height: 800 } },
  );
  context.setDefaultTimeout(UI_TIMEOUT);
  return context;
}

/**
 * The sign-in screen as a person uses it. `keep` ticks "Keep me signed in on this device"
 * (off by default in the app): on unless a test says otherwise, since most tests reload, go
 * offline or open more tabs on what is meant as the user's own device; sign-out.e2e.ts covers
 * both choices.
 */
export async function signIn(page: Page, user: Pick<TestUser, 'email' | 'password'>, options: { keep?: boolean } = {}): Promise<void> {
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByLabel('Keep me signed in on this device').setChecked(options.keep ?? true);
  await page.getByRole('button', { name: 'Sign in', exact: true }).last().click();
  await inboxReady(page);
}

/** The inbox shell is on screen (from the replica; the network may still be catching up). */
export async function inboxReady(page: Page): Promise<void> {
  await page.getByRole('heading', { name: /^Inbox/ }).waitFor();
  await page.locator('.conversation-scroll, .empty-list').first().waitFor();
}

/**
 * The new device's older history is all stored (the recent-first walk is over): its indicator is
 * shown from the bootstrap until the walk ends, so once the inbox lists a conversation, its
 * absence means everything below is local too.
 */
export async function historyLoaded(page: Page, timeout = UI_TIMEOUT): Promise<void> {
  await page.getByTestId('history-progress').waitFor({ state: 'detached', timeout });
}

/**
 * A signed-in user in their own browser context (their own "device"). With `network`, the
 * context's sockets go through a switch the test can turn off (see networkSwitch).
 */
export async function openAs(
  browser: Browser,
  appUrl: string,
  user: TestUser,
  options: { phone?: boolean; network?: boolean; keep?: boolean } = {},
) {
  const context = await newContext(browser, options);
  const net = options.network ? await networkSwitch(context) : null;
  const page = await context.newPage();
  collectConsoleErrors(page);
  await page.goto(appUrl);
  await signIn(page, user, { keep: options.keep });
  return { context, page, net };
}

/** Starts a conversation through the "New conversation" dialog and waits until it is open. */
export async function startConversation(page: Page, other: Pick<TestUser, 'id' | 'name'>): Promise<void> {
  await page.getByRole('button', { name: 'New conversation' }).click();
  await page.getByLabel('User id or email').fill(other.id);
  await page.getByRole('button', { name: 'Start conversation' }).click();
  await page.locator('.pane').waitFor();
}

export function conversationRow(page: Page, name: string): Locator {
  return page.locator('.conversation', { has: page.locator('.conversation-name', { hasText: name }) });
}

export async function openConversation(page: Page, name: string): Promise<void> {
  await conversationRow(page, name).locator('.conversation-button').click();
  await page.locator('.pane-title h2', { hasText: name }).waitFor();
}

export function composer(page: Page): Locator {
  return page.locator('.composer-input');
}

export async function send(page: Page, text: string): Promise<Locator> {
  await composer(page).fill(text);
  await composer(page).press('Enter');
  const bubble = messageBubble(page, text);
  await bubble.waitFor();
  return bubble;
}

export function messageBubble(page: Page, text: string): Locator {
  return page.locator('.message', { has: page.locator('.content', { hasText: text }) });
}

/** Waits for a message's status (data-status on the bubble: pending/sent/delivered/read/failed). */
export async function waitForStatus(bubble: Locator, status: string): Promise<void> {
  await bubble.and(bubble.page().locator(`[data-status="${status}"]`)).waitFor();
}

/** Waits until a message has reached `status` or a later one (pending < sent < delivered < read). */
export async function waitForStatusAtLeast(bubble: Locator, status: 'sent' | 'delivered' | 'read'): Promise<void> {
  const order = ['sent', 'delivered', 'read'];
  const accepted = order.slice(order.indexOf(status)).map((s) => `[data-status="${s}"]`);
  await bubble.and(bubble.page().locator(accepted.join(', '))).waitFor();
}

/** Screenshots of the main states for people reviewing a run; never committed. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

const consoleErrors = new WeakMap<Page, string[]>();
export function collectConsoleErrors(page: Page): string[] {
  const errors: string[] = [];
  consoleErrors.set(page, errors);
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  return errors;
}
export function pageErrors(page: Page): string[] {
  return (consoleErrors.get(page) ?? []).filter((e) => e.startsWith('pageerror'));
}

/**
 * Network control for one browser context. `context.setOffline(true)` makes navigator.onLine
 * false and fails new requests, but leaves an already-open WebSocket open with its frames held
 * (checked in offline.e2e.ts). `cut()` additionally routes the context's WebSockets through
 * Playwright and closes them, refusing new ones, the way a dropped connection behaves.
 */
export async function networkSwitch(context: BrowserContext) {
  const live = new Set<WebSocketRoute>();
  let cut = false;
  await context.routeWebSocket(/\/socket\.io\//, (ws) => {
    if (cut) {
      void ws.close({ code: 1001, reason: 'network down (e2e)' });
      return;
    }
    const server = ws.connectToServer();
    live.add(ws);
    ws.onClose(() => {
      live.delete(ws);
      void server.close();
    });
    server.onClose(() => {
      live.delete(ws);
      void ws.close();
    });
  });
  return {
    /** Browser offline and every socket to the server dropped. */
    async goOffline() {
      cut = true;
      await context.setOffline(true);
      await Promise.all([...live].map((ws) => ws.close({ code: 1001, reason: 'network down (e2e)' })));
      live.clear();
    },
    async goOnline() {
      cut = false;
      await context.setOffline(false);
    },
    /** The browser online (REST and the service worker reach the server) while sockets stay refused. */
    async goOnlineWithoutSockets() {
      await context.setOffline(false);
    },
    get openSockets() {
      return live.size;
    },
  };
}

/**
 * Records every status a message bubble shows (data-status), so a test can check the order
 * pending → sent → delivered → read without timing anything.
 */
export async function recordStatuses(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __statusLog?: Record<string, string[]> };
    if (w.__statusLog) return;
    const log: Record<string, string[]> = {};
    w.__statusLog = log;
    const note = (el: Element) => {
      const id = el.getAttribute('data-message-id');
      const status = el.getAttribute('data-status');
      if (!id || !status) return;
      const list = log[id] ?? [];
      log[id] = list;
      if (list[list.length - 1] !== status) list.push(status);
    };
    const scan = (root: ParentNode) => {
      for (const el of root.querySelectorAll('.message[data-message-id]')) note(el);
    };
    scan(document);
    new MutationObserver((mutations) => {
      for (const m of mutations) {
        if (m.type === 'attributes' && m.target instanceof Element && m.target.matches('.message')) note(m.target);
        for (const n of m.addedNodes) if (n instanceof Element) n.matches('.message') ? note(n) : scan(n);
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
  });
}

/**
 * From now on, records the heights (CSS px, rounded) each message's row takes, in order, from a
 * ResizeObserver on every `.message-row`: a row that keeps its height records one value.
 */
export async function recordRowHeights(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __rowHeights?: Record<string, number[]> };
    if (w.__rowHeights) return;
    const log: Record<string, number[]> = {};
    w.__rowHeights = log;
    const sizes = new ResizeObserver((entries) => {
      for (const e of entries) {
        const id = e.target.querySelector('.message[data-message-id]')?.getAttribute('data-message-id');
        if (!id) continue;
        const height = Math.round(e.borderBoxSize[0]?.blockSize ?? e.contentRect.height);
        const list = log[id] ?? [];
        log[id] = list;
        if (list[list.length - 1] !== height) list.push(height);
      }
    });
    const watch = (root: ParentNode) => {
      for (const el of root.querySelectorAll('.message-row')) sizes.observe(el);
    };
    watch(document);
    new MutationObserver((mutations) => {
      for (const m of mutations) {
        for (const n of m.addedNodes) if (n instanceof Element) n.matches('.message-row') ? sizes.observe(n) : watch(n);
      }
    }).observe(document.body, { subtree: true, childList: true });
  });
}

export async function rowHeights(page: Page, messageId: string): Promise<number[]> {
  return page.evaluate((id) => (window as unknown as { __rowHeights?: Record<string, number[]> }).__rowHeights?.[id] ?? [], messageId);
}

export async function statusHistory(page: Page, messageId: string): Promise<string[]> {
  return page.evaluate((id) => (window as unknown as { __statusLog?: Record<string, string[]> }).__statusLog?.[id] ?? [], messageId);
}

const STATUS_ORDER = ['pending', 'sent', 'delivered', 'read'];
/** True when statuses only ever move forward (a receipt never goes back). */
export function isMonotonic(history: string[]): boolean {
  const ranks = history.map((s) => STATUS_ORDER.indexOf(s));
  return ranks.every((r, i) => r >= 0 && (i === 0 || r > (ranks[i - 1] as number)));
}

/** From the next page load on, records every connection state the banner shows (data-connection), in order. */
export async function recordConnectionStates(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const log: string[] = [];
    (window as unknown as { __connectionLog?: string[] }).__connectionLog = log;
    const note = () => {
      const state = document.querySelector('.banner')?.getAttribute('data-connection');
      if (state && log[log.length - 1] !== state) log.push(state);
    };
    new MutationObserver(note).observe(document, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-connection'],
    });
  });
}

export async function connectionHistory(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __connectionLog?: string[] }).__connectionLog ?? []);
}

/**
 * Watches the open message list: true once it showed messages and then none, which is what
 * a list that empties while a wider page loads looks like (and loses its scroll position).
 */
export async function watchMessageListEmptying(page: Page): Promise<() => Promise<boolean>> {
  await page.evaluate(() => {
    const w = window as unknown as { __listEmptied?: boolean };
    w.__listEmptied = false;
    let filled = false;
    new MutationObserver(() => {
      const count = document.querySelectorAll('.message-list .message').length;
      if (count > 0) filled = true;
      else if (filled && document.querySelector('.message-list')) w.__listEmptied = true;
    }).observe(document.body, { subtree: true, childList: true });
  });
  return () => page.evaluate(() => (window as unknown as { __listEmptied?: boolean }).__listEmptied === true);
}
