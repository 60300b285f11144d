import type { NotificationSettings } from '@fetchwork/shared-schema';
import { distinctUntilChanged, map, of } from 'rxjs';
import { useInbox } from '../hooks';
import { useObservable } from '../hooks/use-observable';
import type { NotificationsController } from './controller';
import type { PushAvailability } from './push-subscription';

/** The inbox's notifications (createInbox makes them in a browser page); null in tests' stand-in inboxes. */
export function useNotifications(): NotificationsController | null {
  const inbox = useInbox() as ReturnType<typeof useInbox> & { notifications?: NotificationsController | null };
  return inbox.notifications ?? null;
}

export function useNotificationSettings(): NotificationSettings | null {
  const n = useNotifications();
  return useObservable<NotificationSettings | null>(() => (n ? n.settings.settings$ : of(null)), n?.settings.current() ?? null, [n]);
}

export function useMuted(conversationId: string): boolean {
  const n = useNotifications();
  return useObservable(
    () =>
      n
        ? n.settings.settings$.pipe(
            map((s) => s.muted.includes(conversationId)),
            distinctUntilChanged(),
          )
        : of(false),
    n?.settings.isMuted(conversationId) ?? false,
    [n, conversationId],
  );
}

export function usePushAvailability(): PushAvailability | null {
  const n = useNotifications();
  return useObservable<PushAvailability | null>(() => (n ? n.push$ : of(null)), null, [n]);
}

export function usePromptWanted(): boolean {
  const n = useNotifications();
  return useObservable(() => (n ? n.promptWanted$() : of(false)), false, [n]);
}
