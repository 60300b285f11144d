import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mail, Mailer } from './mailer';

/**
 * Tests: one JSON file per mail (`{ to, subject, text, link, sentAt }`) in `directory`, written
 * whole (temp file + rename) so a reader never sees half a mail. Names sort by time of sending.
 */
export function createFileMailer(directory: string): Mailer {
  let ready: Promise<unknown> | null = null;
  let n = 0;
  return {
    kind: 'file',
    async send(mail: Mail) {
      ready ??= mkdir(directory, { recursive: true });
      await ready;
      const name = `${Date.now().toString().padStart(15, '0')}-${String(++n).padStart(6, '0')}-${randomBytes(4).toString('hex')}`;
      const body = JSON.stringify({ ...mail, sentAt: new Date().toISOString() }, null, 2);
      await writeFile(join(directory, `${name}.tmp`), body);
      await rename(join(directory, `${name}.tmp`), join(directory, `${name}.json`));
    },
  };
}
