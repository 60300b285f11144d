import { createHash, randomBytes } from 'node:crypto';
import { CONFIRM_HASH_PREFIX } from '@fetchwork/shared-schema';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import type { MailQueue } from '../mail';
import type { SyncStore } from '../store/port';
import { cheaperThan, DEFAULT_SCRYPT_COST, hashPassword, needsRehash, type ScryptCost, unmatchableHash, verifyPassword } from './passwords';
import { CONFIRMATION_TTL_MS, type PendingRegistrationStore } from './pending-registrations';

/** Who signed in or registered; the session itself is SessionService's (sessions/session-service.ts). */
export interface AccountUser {
  id: string;
  name: string;
  email: string;
}

/** ObjectId-shaped ids (24 hex) so accounts made here look like FetchWork's. */
const newUserId = () => randomBytes(12).toString('hex');

/**
 * Failed sign-ins an email may have before it is locked for the rest of the window: password
 * guessing against one account, from any number of addresses (the per-IP HTTP limit does not
 * stop a spread-out attempt). Per instance, like the other abuse limits.
 */
export const LOGIN_FAILURE_LIMIT = { failures: 10, windowSeconds: 15 * 60 } as const;

/**
 * Registration limits (per instance, like the other abuse limits). `perEmail`: registrations for
 * one address, whether or not it has an account (each mails it), so the endpoint cannot mail-bomb
 * anyone; `perIp`: register and confirm requests together from one address.
 */
export interface RegistrationLimits {
  perEmail: { requests: number; windowSeconds: number };
  perIp: { requests: number; windowSeconds: number };
}
export const DEFAULT_REGISTRATION_LIMITS: RegistrationLimits = {
  perEmail: { requests: 5, windowSeconds: 60 * 60 },
  perIp: { requests: 60, windowSeconds: 60 * 60 },
};

export interface RegistrationMail {
  queue: MailQueue;
  /** Where the app runs: links are `${appUrl}/#/confirm/<token>`. */
  appUrl: string;
}

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');
const newConfirmationToken = () => randomBytes(32).toString('base64url');
const invalidConfirmation = () =>
  new AppError(
    'CONFIRMATION_INVALID',
    'this confirmation link is not valid (expired, already used, or replaced by a newer one): register again',
  );

/** Email + password accounts for the standalone product. */
export class AccountService {
  private readonly failedLogins = new RateLimiterMemory({
    points: LOGIN_FAILURE_LIMIT.failures,
    duration: LOGIN_FAILURE_LIMIT.windowSeconds,
  });
  private readonly registrationsPerEmail: RateLimiterMemory;
  private readonly registrationsPerIp: RateLimiterMemory;

  private readonly passwordCost: ScryptCost;
  /** Checked when there is no password to check, at the current cost (see login). */
  private readonly unmatchable: string;
  private readonly log: Logger | undefined;
  private readonly mail: RegistrationMail | undefined;
  private readonly pending: PendingRegistrationStore;
  private readonly now: () => number;

  constructor(
    private readonly store: SyncStore,
    options: {
      passwordCost?: ScryptCost;
      log?: Logger;
      mail?: RegistrationMail;
      registrationLimits?: RegistrationLimits;
      now?: () => number;
    } = {},
  ) {
    this.passwordCost = options.passwordCost ?? DEFAULT_SCRYPT_COST;
    this.unmatchable = unmatchableHash(this.passwordCost);
    this.log = options.log;
    this.mail = options.mail;
    this.pending = store.pendingRegistrations();
    this.now = options.now ?? Date.now;
    const limits = options.registrationLimits ?? DEFAULT_REGISTRATION_LIMITS;
    this.registrationsPerEmail = new RateLimiterMemory({ points: limits.perEmail.requests, duration: limits.perEmail.windowSeconds });
    this.registrationsPerIp = new RateLimiterMemory({ points: limits.perIp.requests, duration: limits.perIp.windowSeconds });
  }

  /**
   * Self-service registration (POST /api/auth/register). Answers the same, after the same work,
   * whether or not the email has an account: the password is hashed either way and one mail is
   * queued (sent after the answer). A new email gets a confirmation link (a pending registration
   * replaces any earlier one for that email); a registered one gets a notice. The account exists
   * only once the link is confirmed (confirm).
   */
  async register(input: { email: string; password: string; name: string }, from: { ip: string }): Promise<void> {
    const mail = this.mail;
    if (!mail) throw new AppError('AUTH_DISABLED', 'this server sends no mail, so it takes no registrations');
    const email = input.email.toLowerCase();
    await this.consume(this.registrationsPerIp, `ip:${from.ip}`, 'too many registrations from this address');
    // Counted whether or not the email has an account, so the limit says nothing about that.
    await this.consume(this.registrationsPerEmail, email, 'too many registrations for this email');
    const passwordHash = await hashPassword(input.password, this.passwordCost);
    const token = newConfirmationToken();
    const tokenHash = sha256(token);
    const now = this.now();
    const existing = await this.store.getUserByEmail(email);
    if (existing) {
      // The same kind of store round trip as the new-email path (a lookup that matches nothing).
      await this.pending.take(tokenHash, now);
      mail.queue.enqueue({
        to: email,
        subject: 'Someone tried to create a FetchWork Messaging account with your email',
        text: [
          'Someone (maybe you) tried to create a FetchWork Messaging account with this email address.',
          'This address already has an account, so nothing was created and nothing changed.',
          '',
          `If it was you, sign in instead: ${mail.appUrl}/`,
          'If it was not you, you can ignore this mail.',
        ].join('\n'),
        link: null,
      });
      return;
    }
    await this.pending.put({ email, name: input.name, passwordHash, tokenHash, createdAt: now, expiresAt: now + CONFIRMATION_TTL_MS });
    const link = `${mail.appUrl}/${CONFIRM_HASH_PREFIX}${token}`;
    mail.queue.enqueue({
      to: email,
      subject: 'Confirm your FetchWork Messaging account',
      text: [
        `Hi ${input.name},`,
        '',
        'Open this link to finish creating your FetchWork Messaging account:',
        link,
        '',
        `The link works once, for ${CONFIRMATION_TTL_MS / 3_600_000} hours. If you did not ask for an account, ignore this mail: without the link nothing is created.`,
      ].join('\n'),
      link,
    });
  }

  /**
   * Confirms a mailed link: creates the account from the pending registration. An unknown,
   * expired or already used token, and one whose email got an account meanwhile, fail the same
   * way (CONFIRMATION_INVALID); a token works at most once.
   */
  async confirm(token: string, from: { ip: string }): Promise<AccountUser> {
    await this.consume(this.registrationsPerIp, `ip:${from.ip}`, 'too many confirmations from this address');
    const record = await this.pending.take(sha256(token), this.now());
    if (!record) throw invalidConfirmation();
    if (await this.store.getUserByEmail(record.email)) throw invalidConfirmation();
    const id = newUserId();
    try {
      await this.store.upsertUser({ id, name: record.name, email: record.email, passwordHash: record.passwordHash });
    } catch (err) {
      // A unique-email race with another confirmation or createConfirmed: the other one won.
      if (await this.store.getUserByEmail(record.email)) throw invalidConfirmation();
      throw err;
    }
    await this.registrationsPerEmail.delete(record.email);
    return { id, name: record.name, email: record.email };
  }

  /**
   * An account without confirmation, for the seed's demo users and tests: not reachable over
   * HTTP. Refuses an email that has an account.
   */
  async createConfirmed(input: { email: string; password: string; name: string }, id = newUserId()): Promise<AccountUser> {
    const email = input.email.toLowerCase();
    if (await this.store.getUserByEmail(email)) throw new AppError('ID_TAKEN', 'an account with this email exists');
    await this.store.upsertUser({ id, name: input.name, email, passwordHash: await hashPassword(input.password, this.passwordCost) });
    return { id, name: input.name, email };
  }

  /** Drops pending registrations whose link expired (the server's hourly cleanup). */
  deleteExpiredRegistrations(): Promise<number> {
    return this.pending.deleteExpired(this.now());
  }

  private async consume(limiter: RateLimiterMemory, key: string, message: string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      const minutes = Math.max(1, Math.ceil(res.msBeforeNext / 60_000));
      throw new AppError('RATE_LIMITED', `${message}; try again in ${minutes} min`);
    }
  }

  async login(input: { email: string; password: string }): Promise<AccountUser> {
    const email = input.email.toLowerCase();
    const failed = await this.failedLogins.get(email);
    if (failed && failed.consumedPoints >= LOGIN_FAILURE_LIMIT.failures) {
      const minutes = Math.max(1, Math.ceil(failed.msBeforeNext / 60_000));
      throw new AppError('RATE_LIMITED', `too many failed sign-ins for this email; try again in ${minutes} min`);
    }
    const user = await this.store.getUserByEmail(email);
    const stored = user?.passwordHash ?? null;
    // No account (or one without a password): the same scrypt work against a hash nothing
    // matches, so the time taken does not tell whether the email is registered.
    const ok = (await verifyPassword(input.password, stored ?? this.unmatchable)) && stored !== null;
    if (!user || !ok) {
      // A stored hash older and cheaper than the current cost fails faster than an unknown email
      // would; one more check at the current cost keeps such accounts from standing out until
      // their owner signs in (and the hash is upgraded).
      if (stored !== null && cheaperThan(stored, this.passwordCost)) await verifyPassword(input.password, this.unmatchable);
      // Counted whether or not the account exists, so the answer says nothing about that.
      await this.failedLogins.penalty(email, 1);
      throw new AppError('UNAUTHORIZED', 'email or password is wrong');
    }
    await this.failedLogins.delete(email);
    if (stored !== null && needsRehash(stored, this.passwordCost)) await this.upgradeHash(user.id, input.password);
    return { id: user.id, name: user.name ?? user.email ?? user.id, email: user.email ?? '' };
  }

  /**
   * The password is known only at a successful sign-in: that is when a hash made with older
   * parameters is replaced. A failure here costs the user nothing (the old hash still works).
   */
  private async upgradeHash(userId: string, password: string): Promise<void> {
    try {
      await this.store.upsertUser({ id: userId, passwordHash: await hashPassword(password, this.passwordCost) });
      this.log?.info({ userId, logN: this.passwordCost.logN }, 'password hash upgraded to the current scrypt cost');
    } catch (err) {
      this.log?.warn({ err, userId }, 'could not upgrade a password hash; the old one stays valid');
    }
  }
}
