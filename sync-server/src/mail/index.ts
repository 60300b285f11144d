export { createFileMailer } from './file-mailer';
export { createLogMailer } from './log-mailer';
export { MailQueue } from './mail-queue';
export type { Mail, Mailer } from './mailer';
export { createSmtpMailer } from './smtp-mailer';
