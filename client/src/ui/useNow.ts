import { useEffect, useState } from 'react';

/** A clock for relative times ("5 min"), ticking slowly: the labels change at most once a minute. */
export function useNow(intervalMs = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
  return now;
}
