import { PAYLOAD_TEXT } from './docs';
import { type Summary, sleep, summarize } from './stats';

const TAG = /\[(probe-[a-z0-9-]+)\]$/;

/** Probe content: a normal chat line carrying a tag the receiving side can read back. */
export const probeContent = (tag: string) => `${PAYLOAD_TEXT} [${tag}]`;
export const probeTag = (content: string): string | null => TAG.exec(content)?.[1] ?? null;

export interface ProbeResult {
  latency: Summary;
  sent: number;
  measured: number;
  missing: number;
  errors: number;
}

let runCounter = 0;

/**
 * Open-loop probes: `send(tag)` at `rate` per second for warmup + measure; the receiving side
 * calls `arrived(tag)` when the message is stored there. Only probes sent inside the measure
 * window count; the drain waits for them (the rest are reported as missing).
 */
export class Prober {
  private readonly sentAt = new Map<string, number>();
  private readonly latencies: number[] = [];
  private from = Number.POSITIVE_INFINITY;
  private to = Number.POSITIVE_INFINITY;
  private pendingInWindow = 0;

  arrived = (tag: string | null, at = performance.now()) => {
    if (!tag) return;
    const t0 = this.sentAt.get(tag);
    if (t0 === undefined) return;
    this.sentAt.delete(tag);
    if (t0 >= this.from && t0 < this.to) {
      this.latencies.push(at - t0);
      this.pendingInWindow -= 1;
    }
  };

  async run(args: {
    rate: number;
    warmupMs: number;
    measureMs: number;
    drainMs: number;
    send: (tag: string) => Promise<unknown>;
  }): Promise<ProbeResult> {
    runCounter += 1;
    this.latencies.length = 0;
    this.sentAt.clear();
    this.pendingInWindow = 0;
    let errors = 0;
    let measured = 0;
    const start = performance.now();
    this.from = start + args.warmupMs;
    this.to = this.from + args.measureMs;
    let k = 0;
    if (args.rate > 0) {
      while (performance.now() < this.to) {
        const due = Math.floor(((performance.now() - start) / 1000) * args.rate) + 1;
        while (k < due) {
          const tag = `probe-${process.pid.toString(36)}-${runCounter}-${k}`;
          const t0 = performance.now();
          this.sentAt.set(tag, t0);
          if (t0 >= this.from && t0 < this.to) {
            measured += 1;
            this.pendingInWindow += 1;
          }
          args.send(tag).catch(() => {
            errors += 1;
          });
          k += 1;
        }
        await sleep(2);
      }
    }
    const deadline = performance.now() + args.drainMs;
    while (this.pendingInWindow > 0 && performance.now() < deadline) await sleep(5);
    const result = { latency: summarize(this.latencies), sent: k, measured, missing: this.pendingInWindow, errors };
    this.from = this.to = Number.POSITIVE_INFINITY;
    return result;
  }
}
