import { describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { loadConfig } from '../../src/config';
import { KNOWN_PUSH_SERVICE_HOSTS } from '../../src/notifications/endpoint-policy';

const keys = webpush.generateVAPIDKeys();
const production = { NODE_ENV: 'production', JWT_SECRET: 'a-production-secret-0123', AUTH_MODE: 'standalone' } as const;
const vapid = { VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey, VAPID_SUBJECT: 'mailto:ops@fetchwork.dev' };

describe('Web Push configuration', () => {
  it('takes the three VAPID variables; production calls known push services over https only', () => {
    const config = loadConfig({ ...production, ...vapid });
    expect(config.push).toEqual({
      vapid: { publicKey: keys.publicKey, privateKey: keys.privateKey, subject: 'mailto:ops@fetchwork.dev' },
      endpoints: { hosts: KNOWN_PUSH_SERVICE_HOSTS, allowLoopbackHttp: false },
    });
    expect(loadConfig({ ...production, ...vapid, PUSH_ENDPOINT_HOSTS: '*' }).push.endpoints.hosts).toBe('*');
    expect(loadConfig({ ...production, ...vapid, PUSH_ENDPOINT_HOSTS: 'push.example.com, Other.example' }).push.endpoints.hosts).toEqual([
      'push.example.com',
      'other.example',
    ]);
  });

  it('without keys push is off, also in production (never generated there)', () => {
    expect(loadConfig({ ...production }).push.vapid).toBeNull();
    expect(loadConfig({ NODE_ENV: 'test' }).push).toEqual({
      vapid: null,
      endpoints: { hosts: KNOWN_PUSH_SERVICE_HOSTS, allowLoopbackHttp: true },
    });
  });

  it('refuses partial or malformed keys, naming the variable', () => {
    expect(() => loadConfig({ ...production, VAPID_PUBLIC_KEY: keys.publicKey })).toThrow(/set all three or none/);
    expect(() => loadConfig({ ...production, ...vapid, VAPID_PUBLIC_KEY: keys.privateKey })).toThrow(/VAPID_PUBLIC_KEY/);
    expect(() => loadConfig({ ...production, ...vapid, VAPID_PRIVATE_KEY: 'short' })).toThrow(/VAPID_PRIVATE_KEY/);
    expect(() => loadConfig({ ...production, ...vapid, VAPID_SUBJECT: 'ops@fetchwork.dev' })).toThrow(/VAPID_SUBJECT/);
  });
});
