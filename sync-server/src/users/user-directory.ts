import type { AuthUser } from '../auth/tokens';
import type { Logger } from '../logger';
import type { SyncStore } from '../store/port';
import { cleanName, fallbackName } from './fallback-name';
import { applyName, type ConversationRewriter } from './name-propagation';
import type { UserProfileStore } from './profile-store';

/** Names for conversation documents: what SyncService writes into `participantNames`. */
export interface ParticipantNames {
  namesFor(userIds: readonly string[]): Promise<Record<string, string>>;
}

export interface UserDirectoryOptions {
  profiles: UserProfileStore;
  feed: Pick<SyncStore, 'pullFeed'>;
  conversations: ConversationRewriter;
  log: Logger;
  /** How long a name seen here is trusted without reading the store (another instance may learn a newer one). */
  knownForMs?: number;
  /** Most users remembered (oldest forgotten first). */
  maxKnown?: number;
  now?: () => number;
}

interface Known {
  name: string;
  version: number;
  until: number;
}

interface Job {
  name: string;
  /** Settles once the name is stored (or refused); conversation creation waits for this only. */
  saved: Promise<void>;
  /** Settles once every conversation carries it too. */
  done: Promise<void>;
}

/**
 * Who is called what. Names come from the `name` claim of verified tokens (REST requests and
 * socket handshakes), from accounts (registration) and, with MongoDB, from FetchWork's `users`
 * (read by the profile store). The server fills `participantNames` from here, never from a
 * client's proposal, and when a user's name changes it rewrites that user's conversations
 * (server writes, streamed to every device); messages are never rewritten.
 *
 * Noting a token is cheap: a name already known here (or one from an older token than the name
 * known) costs no I/O; a change costs one read and one write, then the walk of the user's
 * conversations in the background.
 */
export class UserDirectory implements ParticipantNames {
  private readonly known = new Map<string, Known>();
  private readonly jobs = new Map<string, Job>();
  private readonly knownForMs: number;
  private readonly maxKnown: number;
  private readonly now: () => number;

  constructor(private readonly o: UserDirectoryOptions) {
    this.knownForMs = o.knownForMs ?? 5 * 60_000;
    this.maxKnown = o.maxKnown ?? 50_000;
    this.now = o.now ?? Date.now;
  }

  /** Learns the name a verified token carries. Never rejects; resolves when its conversations carry it. */
  note(user: AuthUser): Promise<void> {
    const name = cleanName(user.name);
    if (!name) return Promise.resolve();
    // Tokens of one issuer share a lifetime, so a later expiry means a later token.
    const version = user.expiresAt ?? this.now();
    const known = this.known.get(user.id);
    if (known && known.until > this.now() && (known.name === name || version < known.version)) return Promise.resolve();
    const running = this.jobs.get(user.id);
    if (running?.name === name) return running.done;
    let markSaved!: () => void;
    const saved = new Promise<void>((resolve) => {
      markSaved = resolve;
    });
    const done = (running?.done ?? Promise.resolve())
      .then(() => this.learn(user.id, name, version, markSaved))
      .catch((err) => this.o.log.warn({ err, userId: user.id }, 'could not update a user name'))
      .finally(() => {
        markSaved();
        if (this.jobs.get(user.id)?.done === done) this.jobs.delete(user.id);
      });
    this.jobs.set(user.id, { name, saved, done });
    return done;
  }

  /** Every asked user's name, or the fallback for one without a known name. */
  async namesFor(userIds: readonly string[]): Promise<Record<string, string>> {
    // A name being learned right now (this request's own token, typically) is stored first.
    await Promise.all(userIds.map((id) => this.jobs.get(id)?.saved));
    const profiles = await this.o.profiles.get(userIds);
    return Object.fromEntries(profiles.map((p) => [p.id, p.name ?? fallbackName(p.id)]));
  }

  private async learn(userId: string, name: string, version: number, saved: () => void): Promise<void> {
    const [stored] = await this.o.profiles.get([userId]);
    if (!stored) return;
    // The version is pinned once, also for a name that came from the account or FetchWork: that
    // is what lets an older token's name be ignored later without a read.
    const pinned = stored.name === name && stored.nameVersion > 0;
    if (!pinned && (stored.nameVersion > version || !(await this.o.profiles.saveName(userId, name, version)))) {
      // A later token's name is stored (perhaps by another instance): it stays.
      saved();
      const [latest] = await this.o.profiles.get([userId]);
      if (latest?.name) this.remember(userId, latest.name, latest.nameVersion);
      return;
    }
    saved();
    if (stored.appliedName !== name) {
      const rewritten = await applyName(this.o.feed, this.o.conversations, userId, name);
      await this.o.profiles.markApplied(userId, name);
      this.o.log.info({ userId, rewritten }, 'user name applied to their conversations');
    }
    this.remember(userId, name, pinned ? stored.nameVersion : version);
  }

  private remember(userId: string, name: string, version: number): void {
    this.known.delete(userId);
    this.known.set(userId, { name, version, until: this.now() + this.knownForMs });
    if (this.known.size > this.maxKnown) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
  }
}
