import type { Collection, Connection } from 'mongoose';
import { cleanName } from '../../users/fallback-name';
import type { UserProfile, UserProfileStore } from '../../users/profile-store';
import { fromRef, isCanonicalObjectIdHex, type Ref, toRef } from './ids';
import { COLLECTION_NAMES } from './schemas';

/** Ours: what the directory learned from tokens. Created on first write, like messaging_files. */
export const PROFILES_COLLECTION = 'messaging_user_profiles';

/** FetchWork's own user collection (its Mongoose model `User`). Read, never written. */
export const FETCHWORK_USERS_COLLECTION = 'users';

interface ProfileDocument {
  _id: Ref;
  name?: string | null;
  nameVersion?: number;
  appliedName?: string | null;
}

/** The fields of FetchWork's user documents a name is made of (nothing else is read). */
interface FetchWorkUser {
  _id: Ref;
  firstName?: unknown;
  lastName?: unknown;
  name?: unknown;
}

/** FetchWork's `firstName` + `lastName`; a plain `name` where a deployment keeps one instead. */
export function fetchWorkUserName(u: FetchWorkUser): string | null {
  const parts = [u.firstName, u.lastName].filter((p): p is string => typeof p === 'string' && p.trim() !== '');
  return cleanName(parts.length > 0 ? parts.join(' ') : typeof u.name === 'string' ? u.name : null);
}

const isDuplicateKey = (err: unknown) => (err as { code?: number }).code === 11000;

/**
 * The directory's profiles in MongoDB: its own collection, read together with the account's
 * name (`messaging_users.name`, registration) and FetchWork's `users` (by `_id`, 24-hex ids
 * only), in that order of preference. Plain driver calls: three `$in` reads per lookup.
 */
export class MongoUserProfiles implements UserProfileStore {
  private readonly profiles: Collection<ProfileDocument>;
  private readonly accounts: Collection<{ _id: Ref; name?: string | null }>;
  private readonly fetchWorkUsers: Collection<FetchWorkUser>;

  constructor(connection: Connection) {
    this.profiles = connection.collection<ProfileDocument>(PROFILES_COLLECTION);
    this.accounts = connection.collection(COLLECTION_NAMES.users);
    this.fetchWorkUsers = connection.collection<FetchWorkUser>(FETCHWORK_USERS_COLLECTION);
  }

  async get(ids: readonly string[]): Promise<UserProfile[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    const refs = unique.map(toRef);
    const objectIds = unique.filter(isCanonicalObjectIdHex).map(toRef);
    const [own, accounts, fetchWork] = await Promise.all([
      this.profiles.find({ _id: { $in: refs } }).toArray(),
      this.accounts.find({ _id: { $in: refs } }, { projection: { name: 1 } }).toArray(),
      objectIds.length > 0
        ? this.fetchWorkUsers.find({ _id: { $in: objectIds } }, { projection: { firstName: 1, lastName: 1, name: 1 } }).toArray()
        : Promise.resolve([]),
    ]);
    const byId = <T extends { _id: Ref }>(docs: T[]) => new Map(docs.map((d) => [fromRef(d._id), d]));
    const ownById = byId(own);
    const accountById = byId(accounts);
    const fetchWorkById = byId(fetchWork);
    return unique.map((id) => {
      const p = ownById.get(id);
      const fw = fetchWorkById.get(id);
      return {
        id,
        name: p?.name ?? accountById.get(id)?.name ?? (fw ? fetchWorkUserName(fw) : null),
        nameVersion: p?.name ? (p.nameVersion ?? 0) : 0,
        appliedName: p?.appliedName ?? null,
      };
    });
  }

  async saveName(id: string, name: string, version: number): Promise<boolean> {
    try {
      // A stored later version makes the filter miss; the upsert then collides on `_id`: not stored.
      await this.profiles.updateOne(
        { _id: toRef(id), $or: [{ nameVersion: { $lte: version } }, { nameVersion: { $exists: false } }] },
        { $set: { name, nameVersion: version } },
        { upsert: true },
      );
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  async markApplied(id: string, name: string): Promise<void> {
    await this.profiles.updateOne({ _id: toRef(id) }, { $set: { appliedName: name } }, { upsert: true });
  }
}
