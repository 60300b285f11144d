import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import webpush from 'web-push';
import type { Logger } from '../logger';

/** The server's VAPID identity (RFC 8292): browsers only accept pushes signed with the key they subscribed with. */
export interface VapidKeys {
  /** Uncompressed P-256 point, base64url (65 bytes): what `PushManager.subscribe` takes as applicationServerKey. */
  publicKey: string;
  /** base64url, 32 bytes. */
  privateKey: string;
  /** `mailto:` or `https:` contact the push services may use. */
  subject: string;
}

const bytes = (value: string) => (/^[A-Za-z0-9_-]+$/.test(value) ? Buffer.from(value, 'base64url').length : -1);

/** What is wrong with these keys, or null. */
export function vapidProblem(keys: VapidKeys): string | null {
  if (bytes(keys.publicKey) !== 65) return 'VAPID_PUBLIC_KEY must be a base64url P-256 public key (65 bytes)';
  if (bytes(keys.privateKey) !== 32) return 'VAPID_PRIVATE_KEY must be a base64url P-256 private key (32 bytes)';
  if (!/^(mailto:.+@.+|https:\/\/.+)$/.test(keys.subject)) return 'VAPID_SUBJECT must be a mailto: address or an https: URL';
  return null;
}

const DEV_FILE = 'dev-vapid-keys.json';
const DEV_SUBJECT = 'mailto:demo@fetchwork.dev';

/**
 * Development only: a key pair made once and kept in the data folder, so `npm start` sends
 * notifications without configuration and browsers' subscriptions survive restarts (a new key
 * would silently invalidate every one of them). Production must configure its keys.
 */
export function devVapidKeys(dir: string, log: Logger): VapidKeys {
  const file = join(dir, DEV_FILE);
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as VapidKeys;
    if (vapidProblem(stored) === null) return stored;
    log.warn({ file }, 'the stored development VAPID keys are invalid: making new ones');
  }
  const { publicKey, privateKey } = webpush.generateVAPIDKeys();
  const keys = { publicKey, privateKey, subject: DEV_SUBJECT };
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  log.info({ file }, 'generated development VAPID keys for Web Push');
  return keys;
}
