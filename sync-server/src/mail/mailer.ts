/**
 * Outgoing mail: a port with three adapters (log for `npm start`, file for tests, SMTP for
 * production). Mail goes out off the request path (see MailQueue): an answer never waits for it,
 * so how long a request takes does not tell which mail it caused.
 */
export interface Mail {
  to: string;
  subject: string;
  text: string;
  /** The link the mail is about (a confirmation link), or null for a notice without one. */
  link: string | null;
}

export interface Mailer {
  readonly kind: 'log' | 'file' | 'smtp';
  send(mail: Mail): Promise<void>;
  close?(): Promise<void>;
}
