import type { HistoryProgress as Progress } from '../inbox-api';

/**
 * The older history arriving behind the inbox: a thin bar and a count, never blocking. It says
 * what is true — the newest conversations are here, older messages are still coming — so that
 * a short search result or a conversation that starts late is not mistaken for everything.
 */
export function HistoryProgress({ progress }: { progress: Progress | null }) {
  if (!progress) return null;
  const done = progress.total > 0 ? Math.min(1, Math.max(0, 1 - progress.remaining / progress.total)) : 0;
  const percent = Math.floor(done * 100);
  return (
    <div className="history-progress" data-testid="history-progress">
      <progress max={100} value={percent} aria-label="Older messages loaded">
        {percent}%
      </progress>
      <span className="history-progress-text">
        Loading older messages… {percent}% ({progress.remaining.toLocaleString()} to go)
      </span>
    </div>
  );
}
