import type { Logger } from '../logger';
import type { Mail, Mailer } from './mailer';

/**
 * Development: the mail is written to the server log at info, link included, so the developer
 * running `npm start` can open the confirmation link from the console. Never for production: the
 * log would hold sign-up credentials.
 */
export function createLogMailer(log: Logger): Mailer {
  return {
    kind: 'log',
    async send(mail: Mail) {
      log.info(
        { to: mail.to, subject: mail.subject, link: mail.link },
        mail.link ? `mail (not sent, MAIL_TRANSPORT=log): open ${mail.link}` : 'mail (not sent, MAIL_TRANSPORT=log)',
      );
    },
  };
}
