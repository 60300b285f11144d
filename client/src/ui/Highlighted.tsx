import type { SearchHit } from '../inbox-api';

/** Search highlights as text nodes and <mark>: message content never goes through innerHTML. */
export function Highlighted({ runs }: { runs: SearchHit['highlights'] }) {
  return (
    <>
      {runs.map((run, i) =>
        // biome-ignore lint/suspicious/noArrayIndexKey: runs are positional and never reorder
        run.match ? <mark key={i}>{run.text}</mark> : <span key={i}>{run.text}</span>,
      )}
    </>
  );
}
