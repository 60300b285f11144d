/**
 * Registrations waiting for their email to be confirmed (docs/protocol.md "Sessions"). One per
 * email: a new registration replaces the earlier one (whose link then stops working). Only the
 * SHA-256 of the mailed token is stored, so the table alone confirms nothing.
 */
export interface PendingRegistration {
  /** Lower-cased. */
  email: string;
  name: string;
  passwordHash: string;
  /** SHA-256 (hex) of the token in the mailed link. */
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
}

export interface PendingRegistrationStore {
  /** Stores the registration, replacing any other for the same email. */
  put(record: PendingRegistration): Promise<void>;
  /**
   * Removes and returns the registration with this token hash if it has not expired at `now`;
   * null otherwise (nothing changes then). Atomic: a token is taken at most once.
   */
  take(tokenHash: string, now: number): Promise<PendingRegistration | null>;
  /** Deletes registrations that expired before `now`; returns how many. */
  deleteExpired(now: number): Promise<number>;
}

/** How long a mailed confirmation link works. */
export const CONFIRMATION_TTL_MS = 24 * 60 * 60 * 1000;
