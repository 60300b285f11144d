import type { Collection, Connection } from 'mongoose';
import type { PendingRegistration, PendingRegistrationStore } from '../../auth/pending-registrations';

/** Created on first use, beside the collections prepareDatabase makes. */
export const PENDING_REGISTRATIONS_COLLECTION = 'messaging_pending_registrations';

type PendingDocument = Omit<PendingRegistration, 'email'> & { _id: string };

/** Pending registrations in their own collection of the messaging database, keyed by email. */
export class MongoPendingRegistrations implements PendingRegistrationStore {
  private readonly pending: Collection<PendingDocument>;
  private indexed: Promise<unknown> | null = null;

  constructor(connection: Connection) {
    this.pending = connection.collection<PendingDocument>(PENDING_REGISTRATIONS_COLLECTION);
  }

  private ready(): Promise<unknown> {
    this.indexed ??= this.pending.createIndexes([{ key: { tokenHash: 1 }, unique: true }, { key: { expiresAt: 1 } }]);
    return this.indexed;
  }

  async put(r: PendingRegistration): Promise<void> {
    await this.ready();
    const { email, ...rest } = r;
    await this.pending.replaceOne({ _id: email }, rest, { upsert: true });
  }

  async take(tokenHash: string, now: number): Promise<PendingRegistration | null> {
    await this.ready();
    const doc = await this.pending.findOneAndDelete({ tokenHash, expiresAt: { $gt: now } });
    if (!doc) return null;
    const { _id, ...rest } = doc;
    return { email: _id, ...rest };
  }

  async deleteExpired(now: number): Promise<number> {
    return (await this.pending.deleteMany({ expiresAt: { $lte: now } })).deletedCount;
  }
}
