/**
 * A signed-in session of this server (standalone mode): one refresh family. The refresh
 * credential rotates on every use; only hashes are stored, so a copy of the database signs no
 * one in. `deviceKeyHash` binds the family to the page that signed in: the httpOnly cookie
 * alone refreshes nothing (see session-service.ts).
 */
export interface SessionRecord {
  id: string;
  userId: string;
  /** SHA-256 (base64url) of the current refresh secret. */
  tokenHash: string;
  /** The one before it, accepted again for ROTATION_LEEWAY_MS after rotation (two tabs racing). */
  previousHash: string | null;
  rotatedAt: number;
  deviceKeyHash: string;
  persistent: boolean;
  createdAt: number;
  /** Idle expiry: moved forward by each refresh, never past absoluteExpiresAt. */
  expiresAt: number;
  absoluteExpiresAt: number;
  revokedAt: number | null;
  revokedReason: SessionEndReason | null;
  userAgent: string | null;
}

export type SessionEndReason = 'sign-out' | 'sign-out-everywhere' | 'reuse-detected';

export interface Rotation {
  /** The hash the record must still hold (compare-and-set: two instances rotating at once, one wins). */
  expectedHash: string;
  tokenHash: string;
  previousHash: string;
  rotatedAt: number;
  expiresAt: number;
}

/** Storage port of sessions; SQLite and MongoDB adapters pass one contract suite. */
export interface SessionRecordStore {
  create(record: SessionRecord): Promise<void>;
  get(id: string): Promise<SessionRecord | null>;
  /** True when this call rotated it; false when the hash was no longer `expectedHash` or the session ended. */
  rotate(id: string, rotation: Rotation): Promise<boolean>;
  /** Ends a session; the record as it is afterwards (null if unknown). Ending an ended one keeps the first reason. */
  revoke(id: string, reason: SessionEndReason, at: number): Promise<SessionRecord | null>;
  /** Ends every live session of a user; their ids. */
  revokeAllOfUser(userId: string, reason: SessionEndReason, at: number): Promise<string[]>;
  /** Sessions ended at or after `since` (a new instance learns what its access tokens must refuse). */
  revokedSince(since: number): Promise<{ id: string; userId: string }[]>;
  /** Removes sessions that expired or ended before `before`; how many. */
  deleteEndedBefore(before: number): Promise<number>;
}
