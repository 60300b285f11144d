/**
 * Accounts through the real REST endpoints, as a person makes them: register, read the mailed
 * link, confirm. The one place tests (sync-server, client, e2e) and the bench do that. Reads the
 * file mailer's directory (MAIL_TRANSPORT=file / MAIL_DIR for a server process, TestServer.mailDir
 * for an in-process test server). Plain Node: no test runner imports, so the bench can use it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUTH_ROUTES, CONFIRM_HASH_PREFIX, type SessionResponse } from '@fetchwork/shared-schema';

export interface SentMail {
  to: string;
  subject: string;
  text: string;
  link: string | null;
  sentAt: string;
  file: string;
}

/** Every mail in the directory, oldest first. */
export function readMails(mailDir: string): SentMail[] {
  if (!existsSync(mailDir)) return [];
  return readdirSync(mailDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ ...(JSON.parse(readFileSync(join(mailDir, file), 'utf8')) as Omit<SentMail, 'file'>), file }));
}

/** Mails to one address (case-insensitive), oldest first. */
export const mailsTo = (mailDir: string, to: string): SentMail[] => readMails(mailDir).filter((m) => m.to === to.toLowerCase());

/** Waits until the address has more than `seen` mails and returns the newest. */
export async function waitForMail(mailDir: string, to: string, seen = 0, timeoutMs = 10_000): Promise<SentMail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = mailsTo(mailDir, to);
    if (mails.length > seen) return mails[mails.length - 1]!;
    if (Date.now() > deadline) throw new Error(`no mail to ${to} in ${mailDir} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The token of a confirmation link (`…/#/confirm/<token>`). */
export function confirmationToken(link: string | null): string {
  const at = link?.indexOf(CONFIRM_HASH_PREFIX) ?? -1;
  if (!link || at < 0) throw new Error(`not a confirmation link: ${link}`);
  return link.slice(at + CONFIRM_HASH_PREFIX.length);
}

export interface AuthAnswer<B = any> {
  status: number;
  body: B;
  /** The fw_refresh Set-Cookie header, if any. */
  setCookie: string | null;
  headers: Headers;
}

/** A POST to an auth route, JSON both ways. */
export async function postAuth(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<AuthAnswer> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? JSON.parse(text) : null,
    setCookie: res.headers.getSetCookie().find((c) => c.startsWith('fw_refresh=')) ?? null,
    headers: res.headers,
  };
}

export interface NewAccount {
  email: string;
  password: string;
  name: string;
  keepSignedIn?: boolean;
}

export interface ConfirmedAccount extends AuthAnswer<{ data: SessionResponse }> {
  token: string;
  deviceKey: string;
  user: SessionResponse['user'];
  /** The refresh cookie's value. */
  cookie: string | null;
}

/**
 * Registers, takes the link from the mail, confirms: the confirm answer (201, the session body and
 * the refresh cookie, as a sign-in). Throws with the server's answer if a step fails.
 */
export async function registerAndConfirm(
  server: { url: string; mailDir: string },
  account: NewAccount,
  headers: Record<string, string> = {},
): Promise<ConfirmedAccount> {
  const seen = mailsTo(server.mailDir, account.email).length;
  const { keepSignedIn, ...registration } = account;
  const reg = await postAuth(server.url, AUTH_ROUTES.register, registration, headers);
  if (reg.status !== 202) throw new Error(`register ${account.email}: ${reg.status} ${JSON.stringify(reg.body)}`);
  const mail = await waitForMail(server.mailDir, account.email, seen);
  const res = await postAuth(server.url, AUTH_ROUTES.confirm, { token: confirmationToken(mail.link), keepSignedIn }, headers);
  if (res.status !== 201) throw new Error(`confirm ${account.email}: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    ...res,
    token: res.body.data.token,
    deviceKey: res.body.data.deviceKey!,
    user: res.body.data.user,
    cookie: /^fw_refresh=([^;]*)/.exec(res.setCookie ?? '')?.[1] ?? null,
  };
}
