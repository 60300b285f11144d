import { randomBytes } from 'node:crypto';
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

/** Email + password accounts for the standalone product, issuing the same JWTs FetchWork uses. */
export class AccountService {
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
    const user = await this.store.getUserByEmail(input.email.toLowerCase());
    const ok = user?.passwordHash ? await verifyPassword(input.password, user.passwordHash) : false;
    if (!user || !ok) throw new AppError('UNAUTHORIZED', 'email or password is wrong');
    return this.session(user.id, user.name ?? user.email ?? user.id, user.email ?? '');
  }

  private session(id: string, name: string, email: string): Session {
    return { token: signToken({ userId: id, name, email }, this.secret), user: { id, name, email } };
  }
}
