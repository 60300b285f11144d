import type { Logger } from '../logger';
import type { Mail, Mailer } from './mailer';

/**
 * Sends mail after the answer is on its way: `enqueue` returns at once (the request path does the
 * same work whichever mail it queued). One send at a time; a failure is logged, never thrown at
 * the request. Bounded: beyond `maxQueued` waiting mails the newest are dropped (and logged), so a
 * slow SMTP server cannot grow memory without end.
 */
export class MailQueue {
  private readonly waiting: Mail[] = [];
  private running: Promise<void> | null = null;

  constructor(
    private readonly mailer: Mailer,
    private readonly log: Logger,
    private readonly maxQueued = 1000,
  ) {}

  get kind(): Mailer['kind'] {
    return this.mailer.kind;
  }

  enqueue(mail: Mail): void {
    if (this.waiting.length >= this.maxQueued) {
      this.log.error({ to: mail.to, subject: mail.subject }, 'mail queue full: mail dropped');
      return;
    }
    this.waiting.push(mail);
    this.running ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  private async drain(): Promise<void> {
    try {
      for (let mail = this.waiting.shift(); mail; mail = this.waiting.shift()) {
        try {
          await this.mailer.send(mail);
        } catch (err) {
          this.log.error({ err, to: mail.to, subject: mail.subject, transport: this.mailer.kind }, 'mail could not be sent');
        }
      }
    } finally {
      this.running = null;
    }
  }

  /** Waits for queued mail (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    await this.idle();
    await this.mailer.close?.();
  }
}
