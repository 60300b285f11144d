/**
 * Sessions ended recently, as every instance must know them: an access token of an ended session
 * stays cryptographically valid until its `exp`, so each request and handshake also asks here.
 * An entry is kept for one access-token lifetime, after which every token of the session has
 * expired anyway. Fed by this instance's sign-outs, by the other instances (Redis), and at start
 * from the store.
 */
export class Revocations {
  private readonly ended = new Map<string, number>();
  private readonly listeners = new Set<(sessionIds: string[]) => void>();

  constructor(private readonly accessTtlMs: number) {}

  isRevoked(sessionId: string | null): boolean {
    if (sessionId === null) return false;
    const until = this.ended.get(sessionId);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.ended.delete(sessionId);
    return false;
  }

  /** Records ended sessions; `local` ones (ended here) are also announced to the listeners. */
  add(sessionIds: readonly string[], origin: 'local' | 'remote'): void {
    if (sessionIds.length === 0) return;
    const until = Date.now() + this.accessTtlMs;
    for (const id of sessionIds) this.ended.set(id, until);
    this.prune();
    if (origin === 'local') for (const listener of this.listeners) listener([...sessionIds]);
  }

  /** Called with the sessions this instance ends (the socket layer cuts them and tells the other instances). */
  onLocalRevocation(listener: (sessionIds: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private prune(): void {
    if (this.ended.size < 1024) return;
    const now = Date.now();
    for (const [id, until] of this.ended) if (until <= now) this.ended.delete(id);
  }
}
