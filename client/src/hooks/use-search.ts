import { useEffect, useState } from 'react';
import type { SearchHit } from '../inbox-api';
import { useInbox } from './inbox-context';

export interface SearchState {
  hits: SearchHit[];
  loading: boolean;
}

/**
 * Searches the local replica (works offline). The hits follow the replica: a message that
 * arrives, changes or goes away while the query is shown updates them (debounced by the inbox).
 * Answers to superseded queries are dropped.
 */
export function useSearch(query: string, limit = 50): SearchState {
  const inbox = useInbox();
  const [state, setState] = useState<SearchState>({ hits: [], loading: false });
  useEffect(() => {
    if (!query.trim()) {
      setState({ hits: [], loading: false });
      return;
    }
    setState((s) => ({ hits: s.hits, loading: true }));
    const sub = inbox.search$(query, limit).subscribe({
      next: (hits) => setState({ hits, loading: false }),
      error: () => setState({ hits: [], loading: false }),
    });
    return () => sub.unsubscribe();
  }, [inbox, query, limit]);
  return state;
}
