import { useEffect, useState } from 'react';
import type { SearchHit } from '../inbox-api';
import { useInbox } from './inbox-context';

export interface SearchState {
  hits: SearchHit[];
  loading: boolean;
}

/** Searches the local replica (works offline). Answers to superseded queries are dropped. */
export function useSearch(query: string, limit = 50): SearchState {
  const inbox = useInbox();
  const [state, setState] = useState<SearchState>({ hits: [], loading: false });
  useEffect(() => {
    if (!query.trim()) {
      setState({ hits: [], loading: false });
      return;
    }
    let current = true;
    setState((s) => ({ hits: s.hits, loading: true }));
    inbox.search(query, limit).then(
      (hits) => current && setState({ hits, loading: false }),
      () => current && setState({ hits: [], loading: false }),
    );
    return () => {
      current = false;
    };
  }, [inbox, query, limit]);
  return state;
}
