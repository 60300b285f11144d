import type { NotificationSettings } from '@fetchwork/shared-schema';
import {
  BehaviorSubject,
  distinctUntilChanged,
  filter,
  fromEvent,
  map,
  merge,
  type Observable,
  Subscription,
  startWith,
  switchMap,
} from 'rxjs';
import type { OwnMessageWrites } from '../inbox/commands';
import { OUTBOX_SYNC_TAG, type OutboxMirror, openOutboxMirror, outboxMirrorNameFor } from '../sw/outbox-mirror';
import type { SocketConnection } from '../sync/socket';
import { OutboxMirrorKeeper } from './mirror-keeper';
import { openConversation$, provideAccessToken, shownConversation } from './page-bridge';
import {
  backgroundSyncSupported,
  currentAvailability,
  deviceWantsPush,
  disablePush,
  enablePush,
  type PushAvailability,
} from './push-subscription';
import { NOTIFICATION_STORAGE_PREFIX, NotificationSettingsSync } from './settings';

export interface NotificationsOptions {
  /**
   * Whether the service worker can get a token of its own (the standalone session's refresh
   * cookie). A deployment where the host app supplies tokens has none: pass false, and offline
   * messages are said to go "when you open FetchWork". Default true.
   */
  backgroundSend?: boolean;
  /**
   * The session's device key (SessionResponse.deviceKey), which a refresh must send. The worker
   * cannot read the page's storage, so it is kept in the mirror's database (deleted with it at
   * sign-out). Without it the worker can only use an open page's token.
   */
  deviceKey?: string | null;
  /** Whether the session is kept on this device ("Keep me signed in"); push is offered only then. Default true. */
  deviceKept?: boolean;
}

export interface NotificationsDeps {
  user: { id: string };
  serverUrl: string;
  getToken: () => string | null | Promise<string | null>;
  connection: SocketConnection;
  databaseName: string;
  /** The user's messages the server has not accepted (UnsentMessages.ids$). */
  unsentIds$: Observable<string[]>;
  isLeader$: Observable<boolean>;
}

const sentHereKey = (userId: string) => `${NOTIFICATION_STORAGE_PREFIX}sent-here.${userId}`;
const promptDismissedKey = (userId: string) => `${NOTIFICATION_STORAGE_PREFIX}prompt-dismissed.${userId}`;

function flag(key: string): boolean {
  try {
    return localStorage.getItem(key) === '1';
  } catch {
    return false;
  }
}
function setFlag(key: string): void {
  try {
    localStorage.setItem(key, '1');
  } catch {
    // not remembered
  }
}

/**
 * Notifications and background send for one signed-in tab (created by createInbox in browsers):
 * settings kept in sync, the focused conversation reported on this tab's socket, this device's
 * push subscription, and the background-send mirror (sw/outbox-mirror.ts) with its Background
 * Sync registration.
 */
export class NotificationsController {
  readonly settings: NotificationSettingsSync;
  /** 'background': an offline message goes out after the tabs are closed; 'on-open': only when the app runs. */
  readonly backgroundSend: 'background' | 'on-open';
  readonly messageWrites: OwnMessageWrites;
  private readonly push = new BehaviorSubject<PushAvailability | null>(null);
  readonly push$: Observable<PushAvailability | null> = this.push.asObservable();
  private readonly sentHere: BehaviorSubject<boolean>;
  private readonly promptDismissed: BehaviorSubject<boolean>;
  private readonly mirror: Promise<OutboxMirror | null>;
  private readonly mirrorKeeper: OutboxMirrorKeeper;
  private readonly subs = new Subscription();
  private closed = false;
  private readonly deviceKept: boolean;

  constructor(
    options: NotificationsOptions,
    private readonly d: NotificationsDeps,
  ) {
    const userId = d.user.id;
    this.deviceKept = options.deviceKept !== false;
    this.settings = new NotificationSettingsSync({ userId, apiUrl: d.serverUrl, getToken: d.getToken });
    this.backgroundSend = options.backgroundSend !== false && backgroundSyncSupported() ? 'background' : 'on-open';
    this.sentHere = new BehaviorSubject(flag(sentHereKey(userId)));
    this.promptDismissed = new BehaviorSubject(flag(promptDismissedKey(userId)));
    const mirrorName = outboxMirrorNameFor(d.databaseName);
    this.mirror =
      this.backgroundSend === 'background' && typeof indexedDB !== 'undefined'
        ? openOutboxMirror(mirrorName).then(
            async (m) => {
              if (options.deviceKey !== undefined) await m.setDeviceKey(options.deviceKey).catch(() => undefined);
              return m;
            },
            () => null,
          )
        : Promise.resolve(null);
    this.mirrorKeeper = new OutboxMirrorKeeper({
      mirror: this.mirror,
      userId,
      connected$: d.connection.status$.pipe(map((status) => status.kind === 'connected')),
      unsentIds$: d.unsentIds$,
      isLeader$: d.isLeader$,
      leaving$: merge(
        fromEvent(document, 'visibilitychange').pipe(filter(() => document.visibilityState === 'hidden')),
        fromEvent(window, 'pagehide'),
        fromEvent(document, 'freeze'),
      ),
      channel: this.backgroundSend === 'background' && typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel(mirrorName) : null,
      registerSync: registerBackgroundSync,
    });
    this.messageWrites = {
      inserted: (doc, conversation) => {
        // The banner's moment (promptWanted$): this device has sent a message.
        if (!this.sentHere.value) {
          setFlag(sentHereKey(userId));
          this.sentHere.next(true);
        }
        this.mirrorKeeper.inserted(doc, conversation);
      },
      changed: (doc) => this.mirrorKeeper.changed(doc),
    };

    const { socket } = d.connection;
    const onSettings = (s: NotificationSettings) => this.settings.receive(s);
    socket.on('notifications:settings', onSettings);
    this.subs.add(() => socket.off('notifications:settings', onSettings));
    this.subs.add(
      d.connection.connected$.subscribe(() => {
        void this.settings.refresh().catch(() => undefined);
        void this.resubscribe();
      }),
    );
    const onStorage = (e: StorageEvent) => {
      if (e.key === this.settings.storageKeys().pending) this.settings.reloadPending();
    };
    window.addEventListener('storage', onStorage);
    this.subs.add(() => window.removeEventListener('storage', onStorage));

    this.subs.add(this.reportFocus());
    this.subs.add(provideAccessToken(async () => ({ token: (await d.getToken()) ?? null, userId })));
    void this.refreshAvailability();
  }

  get userId(): string {
    return this.d.user.id;
  }

  /** The banner's moment: a message sent from this device, push possible and not yet decided. */
  promptWanted$(): Observable<boolean> {
    return merge(this.push$, this.sentHere, this.promptDismissed).pipe(
      switchMap(async () => this.push.value === 'off' && this.sentHere.value && !this.promptDismissed.value),
      distinctUntilChanged(),
    );
  }

  dismissPrompt(): void {
    setFlag(promptDismissedKey(this.d.user.id));
    this.promptDismissed.next(true);
  }

  async enablePush(): Promise<PushAvailability> {
    if (!this.deviceKept) return 'not-kept';
    const token = await this.d.getToken();
    if (!token) throw new Error('not signed in');
    const result = await enablePush({ apiUrl: this.d.serverUrl, token, userId: this.d.user.id, ask: true });
    this.push.next(result);
    return result;
  }

  async disablePush(): Promise<void> {
    await disablePush({ apiUrl: this.d.serverUrl, token: await this.d.getToken(), userId: this.d.user.id });
    await this.refreshAvailability();
  }

  setPreviews(privatePreviews: boolean): Promise<void> {
    return this.settings.change({ previews: privatePreviews ? 'private' : 'full' });
  }

  setMuted(conversationId: string, muted: boolean): Promise<void> {
    return this.settings.change({ mute: { conversationId, muted } });
  }

  close(): void {
    this.closed = true;
    this.mirrorKeeper.close();
    this.subs.unsubscribe();
    void this.mirror.then((m) => m?.close());
  }

  private async refreshAvailability(): Promise<void> {
    if (!this.deviceKept) {
      this.push.next('not-kept');
      return;
    }
    const state = await currentAvailability(this.d.serverUrl, this.d.user.id).catch((): PushAvailability => 'unsupported');
    if (!this.closed) this.push.next(state);
  }

  /** At each connect: a device that has notifications on posts its subscription again (or makes a new one the browser dropped). */
  private async resubscribe(): Promise<void> {
    if (
      !this.deviceKept ||
      !deviceWantsPush(this.d.user.id) ||
      typeof Notification === 'undefined' ||
      Notification.permission !== 'granted'
    )
      return;
    const token = await this.d.getToken();
    if (!token) return;
    const result = await enablePush({ apiUrl: this.d.serverUrl, token, userId: this.d.user.id, ask: false }).catch(() => null);
    if (result && !this.closed) this.push.next(result);
  }

  /**
   * `notifications:focus` on this tab's socket (every tab has its own): the conversation open in
   * a visible, focused window, else null; sent on change and again after each (re)connect.
   */
  private reportFocus(): Subscription {
    const { socket } = this.d.connection;
    const shown$ = merge(
      fromEvent(document, 'visibilitychange'),
      fromEvent(window, 'focus'),
      fromEvent(window, 'blur'),
      openConversation$,
      this.d.connection.connected$,
    ).pipe(startWith(undefined));
    let sent: string | null | undefined;
    const sub = shown$.subscribe(() => {
      const conversationId = shownConversation();
      if (!socket.connected) {
        sent = undefined;
        return;
      }
      if (conversationId === sent) return;
      sent = conversationId;
      socket.emit('notifications:focus', { conversationId });
    });
    // The server forgets a socket's focus when it disconnects; a reconnect sends it again.
    const onDisconnect = () => {
      sent = undefined;
    };
    socket.on('disconnect', onDisconnect);
    sub.add(() => socket.off('disconnect', onDisconnect));
    return sub;
  }
}

async function registerBackgroundSync(): Promise<void> {
  try {
    const reg = (await navigator.serviceWorker.getRegistration()) as
      | (ServiceWorkerRegistration & { sync?: { register(tag: string): Promise<void> } })
      | undefined;
    await reg?.sync?.register(OUTBOX_SYNC_TAG);
  } catch {
    // refused (no permission for background sync): the app sends on its next open
  }
}

/** In a browser page; null elsewhere (Node tests) or when turned off. */
export function createNotifications(
  options: NotificationsOptions | null | undefined,
  deps: NotificationsDeps,
): NotificationsController | null {
  if (options === null || typeof window === 'undefined' || typeof document === 'undefined') return null;
  return new NotificationsController(options ?? {}, deps);
}
