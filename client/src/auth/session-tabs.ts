import { parseSession, SESSION_KEY, type StoredSession } from './session';

/** One name for the origin: every tab of the app hears every other. */
export const SESSION_CHANNEL = 'fetchwork-session';

type TabMessage =
  | { type: 'signed-in'; session: StoredSession }
  | { type: 'signed-out'; userId: string }
  | { type: 'ask' }
  | { type: 'answer'; session: StoredSession };

export interface SessionTabsHandlers {
  /** This tab's session right now (null while signed out or signing out). */
  current(): StoredSession | null;
  /** Another tab signed in while this one had no session: follow it. */
  signedIn(session: StoredSession): void;
  /** Another tab signed this user out: close the replica (it is being deleted) and show sign-in. */
  signedOut(userId: string): void;
}

/**
 * The browser's tabs hold one session between them: signing in or out in one does it in all.
 * A BroadcastChannel carries sign-in, sign-out and the session a new tab asks for (a session
 * that is not kept on the device lives in each tab's sessionStorage, which a new tab does not
 * inherit); the `storage` event of the device's session key is the fallback where there is no
 * BroadcastChannel. Handlers are called for the other tabs' actions only and must be idempotent
 * (both signals may arrive).
 */
export class SessionTabs {
  private readonly channel: BroadcastChannel | null;
  private readonly answers = new Set<(session: StoredSession | null) => void>();

  constructor(
    private readonly handlers: SessionTabsHandlers,
    private readonly win: Window | null = typeof window === 'undefined' ? null : window,
  ) {
    this.channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(SESSION_CHANNEL);
    this.channel?.addEventListener('message', this.onMessage);
    this.win?.addEventListener('storage', this.onStorage);
  }

  announceSignedIn(session: StoredSession): void {
    this.post({ type: 'signed-in', session });
  }

  announceSignedOut(userId: string): void {
    this.post({ type: 'signed-out', userId });
  }

  /** The session another open tab has, or null when none answers within `timeoutMs`. */
  ask(timeoutMs: number): Promise<StoredSession | null> {
    if (!this.channel) return Promise.resolve(null);
    return new Promise((resolve) => {
      const done = (session: StoredSession | null) => {
        clearTimeout(timer);
        this.answers.delete(done);
        resolve(session);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      this.answers.add(done);
      this.post({ type: 'ask' });
    });
  }

  close(): void {
    for (const answer of [...this.answers]) answer(null);
    this.channel?.removeEventListener('message', this.onMessage);
    this.channel?.close();
    this.win?.removeEventListener('storage', this.onStorage);
  }

  private post(message: TabMessage): void {
    try {
      this.channel?.postMessage(message);
    } catch {
      // a closed channel: this tab is going away
    }
  }

  private readonly onMessage = (ev: MessageEvent<TabMessage>) => {
    const m = ev.data;
    switch (m?.type) {
      case 'ask': {
        const session = this.handlers.current();
        if (session) this.post({ type: 'answer', session });
        return;
      }
      case 'answer':
        for (const answer of [...this.answers]) answer(m.session);
        return;
      case 'signed-in':
        if (!this.handlers.current()) this.handlers.signedIn(m.session);
        return;
      case 'signed-out':
        if (this.handlers.current()?.user.id === m.userId) this.handlers.signedOut(m.userId);
        return;
    }
  };

  /** The device's session changed in another tab (fires only in the others). */
  private readonly onStorage = (ev: StorageEvent) => {
    if (ev.key !== SESSION_KEY && ev.key !== null) return;
    if (this.win && ev.storageArea !== this.win.localStorage) return;
    const current = this.handlers.current();
    const next = ev.key === null ? null : parseSession(ev.newValue);
    if (next) {
      if (!current) this.handlers.signedIn({ ...next, persistent: true });
      return;
    }
    const previous = ev.key === null ? current : parseSession(ev.oldValue);
    if (current?.persistent && previous?.user.id === current.user.id) this.handlers.signedOut(current.user.id);
  };
}
