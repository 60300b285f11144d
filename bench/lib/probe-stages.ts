import { type Summary, summarize } from './stats';

/** A probe's tag inside any encoded packet argument (probes.ts puts it at the end of the content). */
const TAGS = /\[(probe-[a-z0-9-]+)\]/g;

/** Probe tags in a socket packet's arguments. */
export function tagsIn(args: unknown[]): string[] {
  return [...JSON.stringify(args).matchAll(TAGS)].map((m) => m[1] as string);
}

/** The three parts of a probe's delivery time, as `ProbeStages.take` reports them. */
export interface StageSummary {
  /** A's client: the write until its push leaves A's socket. */
  sender: Summary;
  /** A's socket until B's socket: the wire and the server. */
  server: Summary;
  /** B's client: the batch on B's socket until the message is stored in B's replica. */
  recipient: Summary;
  /** The slowest 5 % of probes (at least one), mean of each part. */
  slowest: { n: number; total: number; sender: number; server: number; recipient: number };
}

enum Stage {
  Pushed = 1,
  Arrived = 2,
  Stored = 3,
}

/**
 * Where a probe's delivery time goes (latency scenario, ours): every stamp is taken in the bench
 * process on one clock, from A's and B's socket events and B's replica. Only probes with all
 * four stamps count; the first stamp of each kind wins (a retried push does not move it).
 */
export class ProbeStages {
  private readonly stamps = new Map<string, number[]>();

  begin(tag: string): void {
    this.stamps.set(tag, [performance.now()]);
  }

  pushed(tags: Iterable<string>): void {
    this.mark(Stage.Pushed, tags);
  }

  arrived(tags: Iterable<string>): void {
    this.mark(Stage.Arrived, tags);
  }

  stored(tag: string | null): void {
    if (tag) this.mark(Stage.Stored, [tag]);
  }

  /** The probes begun inside [from, to), then forgets every probe; null when none is complete. */
  take(from: number, to: number): StageSummary | null {
    const parts = [...this.stamps.values()]
      .filter((s) => s.length === 4 && (s[0] as number) >= from && (s[0] as number) < to)
      .map(([t0, t1, t2, t3]) => ({
        total: (t3 as number) - (t0 as number),
        sender: (t1 as number) - (t0 as number),
        server: (t2 as number) - (t1 as number),
        recipient: (t3 as number) - (t2 as number),
      }));
    this.stamps.clear();
    if (parts.length === 0) return null;
    const slow = [...parts].sort((x, y) => y.total - x.total).slice(0, Math.max(1, Math.ceil(parts.length / 20)));
    const mean = (key: keyof (typeof parts)[number]) => slow.reduce((sum, p) => sum + p[key], 0) / slow.length;
    return {
      sender: summarize(parts.map((p) => p.sender)),
      server: summarize(parts.map((p) => p.server)),
      recipient: summarize(parts.map((p) => p.recipient)),
      slowest: { n: slow.length, total: mean('total'), sender: mean('sender'), server: mean('server'), recipient: mean('recipient') },
    };
  }

  private mark(stage: Stage, tags: Iterable<string>): void {
    for (const tag of tags) {
      const s = this.stamps.get(tag);
      if (s?.length === stage) s.push(performance.now());
    }
  }
}
