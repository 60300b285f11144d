/**
 * Registration does not tell whether an email has an account (issue 14, part 5): the same answer
 * in about the same time for new and registered emails, the rest by mail; the account exists only
 * once the mailed link is confirmed. Against the real server (HTTP on loopback, a real SQLite
 * file, the file mailer).
 */
import { randomBytes } from 'node:crypto';
import { AUTH_ROUTES } from '@fetchwork/shared-schema';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DEFAULT_REGISTRATION_LIMITS } from '../src/auth/account-service';
import type { Mail, Mailer } from '../src/mail';
import { confirmationToken, mailsTo, postAuth, readMails, registerAndConfirm, waitForMail } from './support/accounts';
import { api, connect, median, pull, type TestServer, undoneAfterEach } from './support/test-server';

const { serve, defer } = undoneAfterEach();

let n = 0;
const freshEmail = (tag = 'new') => `${tag}-${++n}-${randomBytes(4).toString('hex')}@example.com`;
const PASSWORD = 'correct horse battery';
const register = (s: TestServer, email: string, name = 'Reg', password = PASSWORD) =>
  postAuth(s.url, AUTH_ROUTES.register, { email, password, name });
const confirm = (s: TestServer, token: string) => postAuth(s.url, AUTH_ROUTES.confirm, { token });
const login = (s: TestServer, email: string, password = PASSWORD) => postAuth(s.url, AUTH_ROUTES.login, { email, password });

/** Users in the store (to show that a refused confirmation created nobody). */
const userCount = (s: TestServer) => {
  const db = new Database(s.sqlitePath, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('register answers the same for new and registered emails', () => {
  it('same status and byte-identical body, in about the same time (medians of 10 each, interleaved)', async () => {
    // 2^14: hashing dominates the few ms of a loopback round trip, so a path that skipped the
    // hash would answer several times faster; the property holds for any cost.
    const server = await serve({ passwordHashing: { logN: 14, r: 8, p: 1 } });
    // Fewer tries per registered email than the per-email limit allows.
    const registered = Array.from({ length: 5 }, () => freshEmail('known'));
    for (const email of registered) await server.accounts.createConfirmed({ email, password: PASSWORD, name: 'Known' });
    const times = { known: [] as number[], fresh: [] as number[] };
    const answers = { known: new Set<string>(), fresh: new Set<string>() };
    const timed = async (email: string, side: 'known' | 'fresh') => {
      const started = performance.now();
      const res = await fetch(`${server.url}${AUTH_ROUTES.register}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: 'another password', name: 'Someone' }),
      });
      const body = await res.text();
      times[side].push(performance.now() - started);
      answers[side].add(`${res.status} ${res.headers.get('content-type')} ${res.headers.get('cache-control')} ${body}`);
    };
    for (let i = 0; i < 10; i++) {
      await timed(registered[i % registered.length]!, 'known');
      await timed(freshEmail(), 'fresh');
    }
    const expected = `202 application/json; charset=utf-8 no-store ${JSON.stringify({ data: { status: 'confirmation_sent' } })}`;
    expect([...answers.known]).toEqual([expected]);
    expect([...answers.fresh]).toEqual([expected]);
    const [k, f] = [median(times.known), median(times.fresh)];
    const ratio = Math.max(k, f) / Math.min(k, f);
    console.log(`register medians: registered email ${k.toFixed(1)} ms, new email ${f.toFixed(1)} ms (ratio ${ratio.toFixed(2)})`);
    expect(ratio, `median registered ${k.toFixed(1)} ms vs new ${f.toFixed(1)} ms`).toBeLessThan(1.5);
    // Registering never made an account, nor changed a registered one's password.
    expect(userCount(server)).toBe(registered.length);
    expect((await login(server, registered[0]!)).status).toBe(200);
  }, 60_000);

  it('a new email is mailed a confirmation link, a registered one a notice without a link; neither is an account yet', async () => {
    const server = await serve();
    const known = freshEmail('known');
    await server.accounts.createConfirmed({ email: known, password: PASSWORD, name: 'Known' });
    const fresh = freshEmail();
    expect((await register(server, fresh, 'Fresh')).status).toBe(202);
    expect((await register(server, known.toUpperCase(), 'Other', 'another password')).status).toBe(202);
    await server.mail?.idle();
    const [link] = mailsTo(server.mailDir, fresh);
    expect(link?.subject).toMatch(/confirm/i);
    expect(link?.link).toMatch(/^http:\/\/localhost:3000\/#\/confirm\/[A-Za-z0-9_-]{43}$/);
    expect(link?.text).toContain(link!.link!);
    const [notice] = mailsTo(server.mailDir, known);
    expect(notice?.link).toBeNull();
    expect(notice?.text).toMatch(/already has an account/);
    expect(notice?.text).toMatch(/sign in/);
    expect(readMails(server.mailDir)).toHaveLength(2);
    // Not an account before the link is confirmed; the registered password is unchanged.
    expect((await login(server, fresh)).status).toBe(401);
    expect((await login(server, known, 'another password')).status).toBe(401);
    expect((await login(server, known)).status).toBe(200);
  });

  it('the answer does not wait for the mail (a mail server that hangs does not slow registration)', async () => {
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const sent: Mail[] = [];
    const stuck: Mailer = {
      kind: 'file',
      async send(mail) {
        await held;
        sent.push(mail);
      },
    };
    const server = await serve({ mailer: stuck });
    defer(() => release());
    const started = performance.now();
    expect((await register(server, freshEmail())).status).toBe(202);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(sent).toHaveLength(0);
    release();
    await server.mail?.idle();
    expect(sent).toHaveLength(1);
  });
});

describe('confirm creates the account and signs in like login', () => {
  it('201 with the session body and refresh cookie; the token works on REST and the socket; the password signs in afterwards', async () => {
    const server = await serve();
    const email = freshEmail();
    const before = userCount(server);
    const res = await registerAndConfirm(server, { email, password: PASSWORD, name: 'Cora Confirmed', keepSignedIn: true });
    expect(res.status).toBe(201);
    expect(res.user).toEqual({ id: expect.stringMatching(/^[0-9a-f]{24}$/), name: 'Cora Confirmed', email });
    expect(res.deviceKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(res.setCookie).toMatch(/; HttpOnly/);
    expect(res.setCookie).toMatch(/Max-Age=\d+/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(userCount(server)).toBe(before + 1);
    expect((await api(server, 'GET', '/api/messages/unread-count', res.token)).body).toEqual({ data: { count: 0 } });
    const socket = await connect(server.url, res.token);
    expect(await pull(socket, { collection: 'messages', checkpoint: null, batchSize: 10 })).toEqual({
      documents: [],
      checkpoint: { seq: 0 },
    });
    socket.close();
    const signedIn = await login(server, email);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.data.user.id).toBe(res.user.id);
  });

  it('a used, expired, unknown or malformed token is refused and changes nothing', async () => {
    const server = await serve();
    const email = freshEmail();
    const first = await registerAndConfirm(server, { email, password: PASSWORD, name: 'Once' });
    const used = confirmationToken(mailsTo(server.mailDir, email)[0]!.link);
    const count = userCount(server);
    const refused = { status: 400, code: 'CONFIRMATION_INVALID' };
    const answer = (r: { status: number; body: any; setCookie: string | null }) => ({
      status: r.status,
      code: r.body.error.code,
      cookie: r.setCookie,
    });

    expect(answer(await confirm(server, used))).toEqual({ ...refused, cookie: null });
    expect(answer(await confirm(server, randomBytes(32).toString('base64url')))).toEqual({ ...refused, cookie: null });
    expect(answer(await confirm(server, 'not-a-token'))).toEqual({ status: 400, code: 'VALIDATION_FAILED', cookie: null });

    // Expired: the pending registration's 24 h are over.
    const late = freshEmail('late');
    expect((await register(server, late)).status).toBe(202);
    const lateToken = confirmationToken((await waitForMail(server.mailDir, late)).link);
    const db = new Database(server.sqlitePath);
    db.prepare('UPDATE pending_registrations SET expires_at = ? WHERE email = ?').run(Date.now() - 1, late);
    db.close();
    expect(answer(await confirm(server, lateToken))).toEqual({ ...refused, cookie: null });

    expect(userCount(server)).toBe(count);
    expect((await login(server, late)).status).toBe(401);
    expect((await login(server, email)).body.data.user.id).toBe(first.user.id);
  });

  it('a second registration before confirming replaces the first: the old link stops working, the new one carries the new name and password', async () => {
    const server = await serve();
    const email = freshEmail();
    expect((await register(server, email, 'First Try', 'first password')).status).toBe(202);
    const oldToken = confirmationToken((await waitForMail(server.mailDir, email)).link);
    expect((await register(server, email, 'Second Try', 'second password')).status).toBe(202);
    const newToken = confirmationToken((await waitForMail(server.mailDir, email, 1)).link);
    expect(newToken).not.toBe(oldToken);
    expect((await confirm(server, oldToken)).body.error.code).toBe('CONFIRMATION_INVALID');
    const ok = await confirm(server, newToken);
    expect(ok.status).toBe(201);
    expect(ok.body.data.user.name).toBe('Second Try');
    expect((await login(server, email, 'first password')).status).toBe(401);
    expect((await login(server, email, 'second password')).status).toBe(200);
  });

  it('a link for an email that got an account meanwhile is refused the same way, and the account is untouched', async () => {
    const server = await serve();
    const email = freshEmail();
    expect((await register(server, email, 'Late', 'late password')).status).toBe(202);
    const token = confirmationToken((await waitForMail(server.mailDir, email)).link);
    const owner = await server.accounts.createConfirmed({ email, password: PASSWORD, name: 'Owner' });
    const res = await confirm(server, token);
    expect([res.status, res.body.error.code]).toEqual([400, 'CONFIRMATION_INVALID']);
    expect((await login(server, email, 'late password')).status).toBe(401);
    expect((await login(server, email)).body.data.user).toEqual({ id: owner.id, name: 'Owner', email });
  });
});

describe('limits: no mail-bombing an address, no flood from one IP', () => {
  it('per email: after the limit, new and registered emails alike get 429 and no further mail; other emails are unaffected', async () => {
    const server = await serve();
    const { requests } = DEFAULT_REGISTRATION_LIMITS.perEmail;
    const known = freshEmail('known');
    await server.accounts.createConfirmed({ email: known, password: PASSWORD, name: 'Known' });
    const fresh = freshEmail();
    for (let i = 0; i < requests; i++) {
      expect((await register(server, fresh)).status).toBe(202);
      expect((await register(server, known)).status).toBe(202);
    }
    const over = [await register(server, fresh), await register(server, known.toUpperCase())];
    expect(over.map((r) => [r.status, r.body.error.code])).toEqual([
      [429, 'RATE_LIMITED'],
      [429, 'RATE_LIMITED'],
    ]);
    expect(over[0]!.body).toEqual(over[1]!.body);
    await server.mail?.idle();
    expect(mailsTo(server.mailDir, fresh)).toHaveLength(requests);
    expect(mailsTo(server.mailDir, known)).toHaveLength(requests);
    expect((await register(server, freshEmail())).status).toBe(202);
  });

  it('per IP: register and confirm requests together', async () => {
    const server = await serve({ registrationLimits: { ...DEFAULT_REGISTRATION_LIMITS, perIp: { requests: 3, windowSeconds: 3600 } } });
    const email = freshEmail();
    expect((await register(server, email)).status).toBe(202);
    expect((await register(server, freshEmail())).status).toBe(202);
    const token = confirmationToken((await waitForMail(server.mailDir, email)).link);
    expect((await confirm(server, token)).status).toBe(201);
    const [r, c] = [await register(server, freshEmail()), await confirm(server, randomBytes(32).toString('base64url'))];
    expect([r.status, r.body.error.code, c.status, c.body.error.code]).toEqual([429, 'RATE_LIMITED', 429, 'RATE_LIMITED']);
  });
});

describe('without mail (MAIL_TRANSPORT=off, the production default)', () => {
  it('takes no registrations and says so the same way for every email; sign-in still works', async () => {
    const server = await serve({ mailer: null });
    for (const email of [freshEmail(), freshEmail('other')]) {
      const res = await register(server, email);
      expect([res.status, res.body.error.code]).toEqual([404, 'AUTH_DISABLED']);
    }
    await server.accounts.createConfirmed({ email: 'seeded@example.com', password: PASSWORD, name: 'Seeded' });
    expect((await login(server, 'seeded@example.com')).status).toBe(200);
  });
});
