import {
  NOTIFICATION_ROUTES,
  type NotificationPreview,
  type NotificationSettings,
  type NotificationSettingsPatch,
} from '@fetchwork/shared-schema';
import { BehaviorSubject, combineLatest, distinctUntilChanged, map, type Observable } from 'rxjs';

/**
 * Changes made on this device that the server has not confirmed: applied to what the UI shows at
 * once, kept across reloads (localStorage, not a replica collection: the open-core build caps
 * collections), and sent as one PATCH each when connected. Per setting the last change wins.
 */
export interface PendingSettings {
  previews?: NotificationPreview;
  /** Conversation id → muted. */
  mutes: Record<string, boolean>;
}

export const DEFAULT_SETTINGS: NotificationSettings = { previews: 'full', muted: [], updatedAt: '' };

export const noPending = (): PendingSettings => ({ mutes: {} });

export function isEmpty(p: PendingSettings): boolean {
  return p.previews === undefined && Object.keys(p.mutes).length === 0;
}

/** What to show: the server's settings with this device's unconfirmed changes on top. */
export function applyPending(base: NotificationSettings, pending: PendingSettings): NotificationSettings {
  if (isEmpty(pending)) return base;
  const muted = new Set(base.muted);
  for (const [id, on] of Object.entries(pending.mutes)) {
    if (on) muted.add(id);
    else muted.delete(id);
  }
  return { previews: pending.previews ?? base.previews, muted: [...muted], updatedAt: base.updatedAt };
}

export function withChange(pending: PendingSettings, patch: NotificationSettingsPatch): PendingSettings {
  const next: PendingSettings = { ...pending, mutes: { ...pending.mutes } };
  if (patch.previews !== undefined) next.previews = patch.previews;
  if (patch.mute) next.mutes[patch.mute.conversationId] = patch.mute.muted;
  return next;
}

/** One PATCH per change, as the contract takes them. */
export function pendingPatches(pending: PendingSettings): NotificationSettingsPatch[] {
  const out: NotificationSettingsPatch[] = [];
  if (pending.previews !== undefined) out.push({ previews: pending.previews });
  for (const [conversationId, muted] of Object.entries(pending.mutes)) out.push({ mute: { conversationId, muted } });
  return out;
}

/** Drops a sent change, unless the user changed that setting again meanwhile (then that is still to send). */
export function settle(pending: PendingSettings, sent: NotificationSettingsPatch): PendingSettings {
  const next: PendingSettings = { ...pending, mutes: { ...pending.mutes } };
  if (sent.previews !== undefined && next.previews === sent.previews) delete next.previews;
  if (sent.mute && next.mutes[sent.mute.conversationId] === sent.mute.muted) delete next.mutes[sent.mute.conversationId];
  return next;
}

/** The newer of two server states (an answer may arrive after a later broadcast). */
export function newer(a: NotificationSettings | null, b: NotificationSettings): NotificationSettings {
  return a && a.updatedAt > b.updatedAt ? a : b;
}

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Every key this feature writes starts with this (sign-out removes them: forgetPushSubscription). */
export const NOTIFICATION_STORAGE_PREFIX = 'fetchwork.notifications.';
const pendingKey = (userId: string) => `${NOTIFICATION_STORAGE_PREFIX}pending.${userId}`;
const settingsKey = (userId: string) => `${NOTIFICATION_STORAGE_PREFIX}settings.${userId}`;

function read<T>(storage: KeyValueStorage | null, key: string): T | null {
  try {
    const raw = storage?.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

function write(storage: KeyValueStorage | null, key: string, value: unknown | null): void {
  try {
    if (value === null) storage?.removeItem(key);
    else storage?.setItem(key, JSON.stringify(value));
  } catch {
    // storage full or unavailable: the change still applies for this page's life
  }
}

export interface SettingsSyncOptions {
  userId: string;
  apiUrl: string;
  getToken: () => string | null | Promise<string | null>;
  storage?: KeyValueStorage | null;
  fetch?: typeof fetch;
}

/**
 * The user's notification settings on this device: the last server state (also kept for an
 * offline start), this device's pending changes, and the sending of those changes. The server
 * broadcasts every change to the user's sockets (`notifications:settings`), so other devices
 * and tabs follow; tabs of this browser also follow each other's pending changes (storage event).
 */
export class NotificationSettingsSync {
  private readonly server: BehaviorSubject<NotificationSettings | null>;
  private readonly pending: BehaviorSubject<PendingSettings>;
  readonly settings$: Observable<NotificationSettings>;
  private readonly storage: KeyValueStorage | null;
  private readonly doFetch: typeof fetch;
  private flushing: Promise<void> | null = null;
  private again = false;

  constructor(private readonly o: SettingsSyncOptions) {
    this.storage = o.storage === undefined ? (typeof localStorage === 'undefined' ? null : localStorage) : o.storage;
    this.doFetch = o.fetch ?? ((...args) => fetch(...args));
    this.server = new BehaviorSubject(read<NotificationSettings>(this.storage, settingsKey(o.userId)));
    this.pending = new BehaviorSubject(read<PendingSettings>(this.storage, pendingKey(o.userId)) ?? noPending());
    this.settings$ = combineLatest([this.server, this.pending]).pipe(
      map(([server, pending]) => applyPending(server ?? DEFAULT_SETTINGS, pending)),
      distinctUntilChanged((a, b) => JSON.stringify(a) === JSON.stringify(b)),
    );
  }

  current(): NotificationSettings {
    return applyPending(this.server.value ?? DEFAULT_SETTINGS, this.pending.value);
  }

  isMuted(conversationId: string): boolean {
    return this.current().muted.includes(conversationId);
  }

  /** A server state (GET, PATCH answer or the socket's broadcast). */
  receive(settings: NotificationSettings): void {
    const next = newer(this.server.value, settings);
    if (next === this.server.value) return;
    this.server.next(next);
    write(this.storage, settingsKey(this.o.userId), next);
  }

  /** Another tab changed the pending changes (the storage event). */
  reloadPending(): void {
    this.pending.next(read<PendingSettings>(this.storage, pendingKey(this.o.userId)) ?? noPending());
  }

  storageKeys(): { pending: string; settings: string } {
    return { pending: pendingKey(this.o.userId), settings: settingsKey(this.o.userId) };
  }

  /** Applies at once; sent now if possible, otherwise on the next flush. */
  change(patch: NotificationSettingsPatch): Promise<void> {
    this.setPending(withChange(this.pending.value, patch));
    return this.flush();
  }

  /** GET the server's state, then send what is pending. Failures leave everything for the next try. */
  async refresh(): Promise<void> {
    const res = await this.request('GET');
    if (res?.ok) this.receive(((await res.json()) as { data: NotificationSettings }).data);
    await this.flush();
  }

  /** Sends the pending changes in turn; one flush at a time, a change meanwhile runs it again. */
  flush(): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      do {
        this.again = false;
        for (const patch of pendingPatches(this.pending.value)) {
          const res = await this.request('PATCH', patch);
          if (!res) return;
          if (res.ok) {
            this.receive(((await res.json()) as { data: NotificationSettings }).data);
            this.setPending(settle(this.pending.value, patch));
          } else if (res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 408 && res.status !== 429) {
            // Refused for good (a conversation id the server does not take): showing it as set would lie.
            this.setPending(settle(this.pending.value, patch));
          } else {
            return;
          }
        }
      } while (this.again);
    })().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private setPending(next: PendingSettings): void {
    write(this.storage, pendingKey(this.o.userId), isEmpty(next) ? null : next);
    this.pending.next(next);
  }

  /** null when the request could not be made (offline, no token). */
  private async request(method: 'GET' | 'PATCH', body?: unknown): Promise<Response | null> {
    const token = await this.o.getToken();
    if (!token) return null;
    try {
      return await this.doFetch(`${this.o.apiUrl}${NOTIFICATION_ROUTES.settings}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      return null;
    }
  }
}
