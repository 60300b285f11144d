export { InboxProvider, useInbox } from './inbox-context';
export { useBlocked, useBlocks } from './use-blocks';
export {
  type MessageWindow,
  useConnectionState,
  useConversations,
  useHistoryProgress,
  useIsLeader,
  useMessages,
  useMessageWindow,
  useTotalUnread,
  useUnsentWork,
} from './use-inbox-data';
export { useObservable } from './use-observable';
export { type MessagePages, usePagedMessages } from './use-paged-messages';
export { useOnline, useTyping } from './use-presence';
export { type SearchState, useSearch } from './use-search';
