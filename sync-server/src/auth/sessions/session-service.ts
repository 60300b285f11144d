import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SessionResponse } from '@fetchwork/shared-schema';
import { AppError } from '../../errors';
import type { Logger } from '../../logger';
import type { SyncStore } from '../../store/port';
import { signAccessToken } from '../tokens';
import type { Revocations } from './revocations';
import type { SessionEndReason, SessionRecord, SessionRecordStore } from './session-records';

export interface SessionLifetimes {
  /** Access tokens: short, because one that leaks works until it expires (unless its session is revoked). */
  accessTtlSeconds: number;
  /** A session unused this long ends (each refresh moves it on). */
  idleTtlMs: number;
  /** A session ends this long after sign-in, however much it is used. */
  absoluteTtlMs: number;
  /**
   * Two tabs (or the page and the service worker) can refresh with the same credential at once;
   * the second would look like a reuse. Within this window after a rotation the previous credential
   * still rotates (the page serialises its refreshes with a Web Lock, so this is the rare case).
   */
  rotationLeewayMs: number;
}

export const DEFAULT_SESSION_LIFETIMES: SessionLifetimes = {
  accessTtlSeconds: 15 * 60,
  idleTtlMs: 30 * 24 * 3600 * 1000,
  absoluteTtlMs: 90 * 24 * 3600 * 1000,
  rotationLeewayMs: 30_000,
};

/** What a sign-in or refresh gives the HTTP layer: the answer's body and the cookie to set. */
export interface IssuedSession {
  body: SessionResponse;
  refresh: { value: string; persistent: boolean; maxAgeMs: number };
}

const b64 = (bytes: Buffer) => bytes.toString('base64url');
const hash = (value: string) => b64(createHash('sha256').update(value).digest());
const sameHash = (a: string, b: string | null) => b !== null && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** `<session id>.<secret>`: the id finds the family, so a reused old secret is recognised as one. */
function parseCredential(value: string | undefined): { id: string; secret: string } | null {
  const match = value ? /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
  return match ? { id: match[1]!, secret: match[2]! } : null;
}

/**
 * Sessions of standalone mode: a refresh family per sign-in, rotated on every use, with reuse
 * detection (an already rotated credential ends the family: whoever holds the newer one and
 * whoever stole the older one are both signed out), idle and absolute expiry, and revocation that
 * reaches every instance's sockets (Revocations + the socket layer).
 */
export class SessionService {
  constructor(
    private readonly records: SessionRecordStore,
    private readonly store: SyncStore,
    private readonly revocations: Revocations,
    private readonly secret: string,
    private readonly lifetimes: SessionLifetimes,
    private readonly log: Logger,
  ) {}

  async start(user: { id: string; name: string; email: string }, persistent: boolean, userAgent: string | null): Promise<IssuedSession> {
    const now = Date.now();
    const id = b64(randomBytes(16));
    const secret = b64(randomBytes(32));
    const deviceKey = b64(randomBytes(32));
    const record: SessionRecord = {
      id,
      userId: user.id,
      tokenHash: hash(secret),
      previousHash: null,
      rotatedAt: now,
      deviceKeyHash: hash(deviceKey),
      persistent,
      createdAt: now,
      expiresAt: now + this.lifetimes.idleTtlMs,
      absoluteExpiresAt: now + this.lifetimes.absoluteTtlMs,
      revokedAt: null,
      revokedReason: null,
      userAgent: userAgent?.slice(0, 200) ?? null,
    };
    await this.records.create(record);
    const issued = this.issue(record, user, `${id}.${secret}`, now);
    issued.body.deviceKey = deviceKey;
    return issued;
  }

  /** A new access token and a rotated credential; SESSION_REVOKED or UNAUTHORIZED when the session cannot go on. */
  async refresh(credential: string | undefined, deviceKey: string, attempt = 0): Promise<IssuedSession> {
    const record = await this.live(credential, deviceKey);
    const { secret } = parseCredential(credential)!;
    const presented = hash(secret);
    const now = Date.now();
    let expected: string;
    if (sameHash(presented, record.tokenHash)) {
      expected = record.tokenHash;
    } else if (sameHash(presented, record.previousHash) && now - record.rotatedAt <= this.lifetimes.rotationLeewayMs) {
      expected = record.tokenHash;
    } else {
      await this.end(record.id, 'reuse-detected');
      this.log.warn({ userId: record.userId, sessionId: record.id }, 'an already rotated refresh credential was used: session ended');
      throw new AppError('SESSION_REVOKED', 'this session has ended; sign in again');
    }
    const nextSecret = b64(randomBytes(32));
    const rotated = await this.records.rotate(record.id, {
      expectedHash: expected,
      tokenHash: hash(nextSecret),
      previousHash: expected,
      rotatedAt: now,
      expiresAt: Math.min(now + this.lifetimes.idleTtlMs, record.absoluteExpiresAt),
    });
    // Another refresh (another instance, or a tab racing this one) rotated first: try again on
    // what it left, where the leeway rules decide.
    if (!rotated) {
      if (attempt >= 2) throw new AppError('INTERNAL', 'the session is being refreshed elsewhere; try again');
      return this.refresh(credential, deviceKey, attempt + 1);
    }
    const user = await this.store.getUser(record.userId);
    return this.issue(
      record,
      { id: record.userId, name: user?.name ?? record.userId, email: user?.email ?? '' },
      `${record.id}.${nextSecret}`,
      now,
    );
  }

  /** Sign-out of this session. Without a usable credential there is nothing of it to end here. */
  async signOut(credential: string | undefined, deviceKey: string): Promise<void> {
    const parsed = parseCredential(credential);
    if (!parsed) return;
    const record = await this.records.get(parsed.id);
    if (!record || record.revokedAt !== null || !sameHash(hash(deviceKey), record.deviceKeyHash)) return;
    await this.end(record.id, 'sign-out');
  }

  /** "Sign out of all devices": every session of the user ends, and their sockets are cut on every instance. */
  async signOutEverywhere(userId: string): Promise<number> {
    const ids = await this.records.revokeAllOfUser(userId, 'sign-out-everywhere', Date.now());
    this.revocations.add(ids, 'local');
    this.log.info({ userId, sessions: ids.length }, 'signed out everywhere');
    return ids.length;
  }

  /** Sessions that ended within one access-token lifetime: what a starting instance must refuse. */
  async loadRecentRevocations(): Promise<void> {
    const ended = await this.records.revokedSince(Date.now() - this.lifetimes.accessTtlSeconds * 1000);
    this.revocations.add(
      ended.map((e) => e.id),
      'remote',
    );
  }

  async deleteEnded(): Promise<number> {
    return this.records.deleteEndedBefore(Date.now() - this.lifetimes.accessTtlSeconds * 1000);
  }

  private async end(id: string, reason: SessionEndReason): Promise<void> {
    await this.records.revoke(id, reason, Date.now());
    this.revocations.add([id], 'local');
  }

  private async live(credential: string | undefined, deviceKey: string): Promise<SessionRecord> {
    const parsed = parseCredential(credential);
    if (!parsed) throw new AppError('UNAUTHORIZED', 'no session: sign in');
    const record = await this.records.get(parsed.id);
    if (!record) throw new AppError('UNAUTHORIZED', 'no session: sign in');
    // The cookie without the page's half (left behind by a sign-out, or taken alone) is worth nothing.
    if (!sameHash(hash(deviceKey), record.deviceKeyHash)) throw new AppError('UNAUTHORIZED', 'no session: sign in');
    if (record.revokedAt !== null) throw new AppError('SESSION_REVOKED', 'this session has ended; sign in again');
    const now = Date.now();
    if (now >= record.expiresAt || now >= record.absoluteExpiresAt)
      throw new AppError('SESSION_REVOKED', 'this session has expired; sign in again');
    return record;
  }

  private issue(record: SessionRecord, user: { id: string; name: string; email: string }, credential: string, now: number): IssuedSession {
    const access = signAccessToken(
      { userId: user.id, name: user.name, email: user.email, sid: record.id },
      this.secret,
      this.lifetimes.accessTtlSeconds,
    );
    const expiresAt = Math.min(now + this.lifetimes.idleTtlMs, record.absoluteExpiresAt);
    return {
      body: { token: access.token, expiresAt: access.expiresAt, user },
      refresh: { value: credential, persistent: record.persistent, maxAgeMs: expiresAt - now },
    };
  }
}
