import { randomBytes } from 'node:crypto';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { AppError } from '../errors';
import type { SyncStore } from '../store/port';
import { hashPassword, verifyPassword } from './passwords';
import { signToken } from './tokens';

export interface Session {
  token: string;
  user: { id: string; name: string; email: string };
}

/** ObjectId-shaped ids (24 hex) so accounts made here look like FetchWork's. */
const newUserId = () => randomBytes(12).toString('hex');

/**
 * Failed sign-ins an email may have before it is locked for the rest of the window: password
 * guessing against one account, from any number of addresses (the per-IP HTTP limit does not
 * stop a spread-out attempt). Per instance, like the other abuse limits.
 */
export const LOGIN_FAILURE_LIMIT = { failures: 10, windowSeconds: 15 * 60 } as const;

/** Email + password accounts for the standalone product, issuing the same JWTs FetchWork uses. */
export class AccountService {
  private readonly failedLogins = new RateLimiterMemory({
    points: LOGIN_FAILURE_LIMIT.failures,
    duration: LOGIN_FAILURE_LIMIT.windowSeconds,
  });

  constructor(
    private readonly store: SyncStore,
    private readonly secret: string,
  ) {}

  async register(input: { email: string; password: string; name: string }, id = newUserId()): Promise<Session> {
    const email = input.email.toLowerCase();
    if (await this.store.getUserByEmail(email)) throw new AppError('ID_TAKEN', 'an account with this email exists');
    await this.store.upsertUser({ id, name: input.name, email, passwordHash: await hashPassword(input.password) });
    return this.session(id, input.name, email);
  }

  async login(input: { email: string; password: string }): Promise<Session> {
    const email = input.email.toLowerCase();
    const failed = await this.failedLogins.get(email);
    if (failed && failed.consumedPoints >= LOGIN_FAILURE_LIMIT.failures) {
      const minutes = Math.max(1, Math.ceil(failed.msBeforeNext / 60_000));
      throw new AppError('RATE_LIMITED', `too many failed sign-ins for this email; try again in ${minutes} min`);
    }
    const user = await this.store.getUserByEmail(email);
    const ok = user?.passwordHash ? await verifyPassword(input.password, user.passwordHash) : false;
    if (!user || !ok) {
      // Counted whether or not the account exists, so the answer says nothing about that.
      await this.failedLogins.penalty(email, 1);
      throw new AppError('UNAUTHORIZED', 'email or password is wrong');
    }
    await this.failedLogins.delete(email);
    return this.session(user.id, user.name ?? user.email ?? user.id, user.email ?? '');
  }

  private session(id: string, name: string, email: string): Session {
    return { token: signToken({ userId: id, name, email }, this.secret), user: { id, name, email } };
  }
}
