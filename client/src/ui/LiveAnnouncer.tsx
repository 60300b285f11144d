import { createContext, type ReactNode, useCallback, useContext, useRef, useState } from 'react';

const AnnounceContext = createContext<(text: string) => void>(() => {});

/**
 * One polite live region for the whole app. Screen readers hear incoming messages without the
 * focus moving; repeating the same text is made audible by alternating two nodes.
 */
export function LiveAnnouncer({ children }: { children: ReactNode }) {
  const [messages, setMessages] = useState<[string, string]>(['', '']);
  const turn = useRef(0);
  const announce = useCallback((text: string) => {
    turn.current = 1 - turn.current;
    const t = turn.current;
    setMessages(t === 0 ? [text, ''] : ['', text]);
  }, []);
  return (
    <AnnounceContext.Provider value={announce}>
      {children}
      <div className="sr-only" aria-live="polite" aria-atomic="true" data-testid="live-region">
        <p>{messages[0]}</p>
        <p>{messages[1]}</p>
      </div>
    </AnnounceContext.Provider>
  );
}

export function useAnnounce(): (text: string) => void {
  return useContext(AnnounceContext);
}
