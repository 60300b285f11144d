import type { AuthUser } from '../auth/tokens';
import { AppError } from '../errors';
import type { BlockRecord, BlockRecordStore } from './block-records';

/**
 * Blocks: a user stops another. While either has blocked the other, no new message or new
 * conversation passes between them (BLOCKED) and neither hears the other's presence or typing.
 * The stored history stays; unblocking restores everything from then on.
 */
export class BlockService {
  constructor(
    private readonly records: BlockRecordStore,
    private readonly clock: () => Date = () => new Date(),
    /** Told after the user's list changed, so their other tabs and devices refetch it at once. */
    private readonly changed: (userId: string) => void = () => {},
  ) {}

  /** Idempotent. Any id-shaped user id is accepted, so the answer tells nothing about who exists. */
  async block(user: AuthUser, otherId: string): Promise<void> {
    if (otherId === user.id) throw new AppError('VALIDATION_FAILED', 'you cannot block yourself');
    await this.records.block(user.id, otherId, this.clock().toISOString());
    this.changed(user.id);
  }

  async unblock(user: AuthUser, otherId: string): Promise<void> {
    await this.records.unblock(user.id, otherId);
    this.changed(user.id);
  }

  list(user: AuthUser): Promise<BlockRecord[]> {
    return this.records.listBlocked(user.id);
  }

  /** Everyone the user blocked or was blocked by. */
  async separatedFrom(userId: string): Promise<Set<string>> {
    return new Set(await this.records.separatedFrom(userId));
  }
}
