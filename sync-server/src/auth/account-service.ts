import { randomBytes } from 'node:crypto';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import type { SyncStore } from '../store/port';
import { cheaperThan, DEFAULT_SCRYPT_COST, hashPassword, needsRehash, type ScryptCost, unmatchableHash, verifyPassword } from './passwords';

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

/** Email + password accounts for the standalone product. */
export class AccountService {
  private readonly failedLogins = new RateLimiterMemory({
    points: LOGIN_FAILURE_LIMIT.failures,
    duration: LOGIN_FAILURE_LIMIT.windowSeconds,
  });

  private readonly passwordCost: ScryptCost;
  /** Checked when there is no password to check, at the current cost (see login). */
  private readonly unmatchable: string;
  private readonly log: Logger | undefined;

  constructor(
    private readonly store: SyncStore,
    options: { passwordCost?: ScryptCost; log?: Logger } = {},
  ) {
    this.passwordCost = options.passwordCost ?? DEFAULT_SCRYPT_COST;
    this.unmatchable = unmatchableHash(this.passwordCost);
    this.log = options.log;
  }

  async register(input: { email: string; password: string; name: string }, id = newUserId()): Promise<AccountUser> {
    const email = input.email.toLowerCase();
    if (await this.store.getUserByEmail(email)) throw new AppError('ID_TAKEN', 'an account with this email exists');
    await this.store.upsertUser({ id, name: input.name, email, passwordHash: await hashPassword(input.password, this.passwordCost) });
    return { id, name: input.name, email };
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
