/**
 * How long the walk stays held after the last hold ends, so the screen's queries, which re-run on
 * the change events of the page just stored, start before the walk's next write. They start
 * within milliseconds; 250 ms left a new device's walk idle for a fifth of a second each time a
 * conversation was opened (10k in Chromium: full history 2.53–2.60 s → 2.23–2.44 s at 50 ms; at
 * 100k the least recent conversation still opened in ~0.3 s; docs/performance.md).
 */
const GRACE_MS = 50;

/**
 * Lets what the user waits for (opening a conversation whose pages are not on the device) go
 * before the history walk's next page. IndexedDB runs transactions on one store in the order they
 * were created, so while the walk stores page after page (a readwrite transaction of 1,000
 * documents, ~0.5 s at 100k in Chromium), every read and write of the screen waits for the
 * page in flight, step after step: opening the least recent conversation at 100k took 7–9 s, most
 * of it in that queue (docs/performance.md, "Opening an old conversation at 100k"). While held,
 * the walk finishes the page it is storing and stores no other; it goes on `GRACE_MS` after the
 * last hold ends.
 */
export class WalkGate {
  private holds = 0;
  private openAt = 0;
  private waiters: (() => void)[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly graceMs = GRACE_MS,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Holds the walk until the returned function is called (once; later calls do nothing). */
  hold(): () => void {
    this.holds++;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds > 0) return;
      this.openAt = this.now() + this.graceMs;
      this.timer = setTimeout(() => this.wake(), this.graceMs);
    };
  }

  /** Resolves at once when nothing holds the walk; otherwise once the last hold and its grace are over, or on abort. */
  whenOpen(signal: AbortSignal): Promise<void> {
    if (this.isOpen() || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private isOpen(): boolean {
    return this.holds === 0 && this.now() >= this.openAt;
  }

  private wake(): void {
    this.timer = null;
    if (this.holds > 0) return;
    const wait = this.openAt - this.now();
    if (wait > 0) {
      this.timer = setTimeout(() => this.wake(), wait);
      return;
    }
    for (const w of this.waiters.splice(0)) w();
  }
}
