import type { ConversationView, SearchHit } from '../inbox-api';
import { fullDateTime, relativeTime } from './format';
import { Highlighted } from './Highlighted';

interface Props {
  query: string;
  hits: SearchHit[];
  loading: boolean;
  /** Older messages are still arriving on this device, so the results may not be all there are. */
  historyLoading: boolean;
  conversations: ReadonlyMap<string, ConversationView>;
  onOpen: (conversationId: string, messageId: string) => void;
  now: number;
}

/** Hits from the local replica: this works the same online and offline. */
export function SearchResults({ query, hits, loading, historyLoading, conversations, onOpen, now }: Props) {
  return (
    <div className="search-results" aria-busy={loading}>
      <p className="search-summary" role="status">
        {loading && hits.length === 0
          ? 'Searching…'
          : hits.length === 0
            ? `No messages match “${query}”.`
            : `${hits.length} ${hits.length === 1 ? 'message matches' : 'messages match'} “${query}”.`}
      </p>
      {historyLoading && (
        <p className="search-note" data-testid="search-history-note">
          Older messages are still loading onto this device: results from them will appear as they arrive.
        </p>
      )}
      <ul className="hit-list" aria-label="Search results">
        {hits.map((hit) => {
          const c = conversations.get(hit.conversationId);
          const time = hit.message.sentAt ?? hit.message.createdAt;
          const who = hit.message.mine ? 'You' : (c?.otherUserName ?? 'Unknown');
          return (
            <li key={hit.message.id}>
              <button
                type="button"
                className="hit"
                data-message-id={hit.message.id}
                onClick={() => onOpen(hit.conversationId, hit.message.id)}
              >
                <span className="hit-top">
                  <span className="hit-name">{c ? c.otherUserName : 'Conversation'}</span>
                  <time dateTime={time} title={fullDateTime(time)}>
                    {relativeTime(time, now)}
                  </time>
                </span>
                <span className="hit-text">
                  <span className="muted">{who}: </span>
                  <Highlighted runs={hit.highlights} />
                </span>
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
