import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';
import { DEFAULT_CONVERSATION_LIMITS } from '../src/sync/conversation-limits';

describe('config', () => {
  it('uses the embedded defaults and generates a development secret', () => {
    const c = loadConfig({});
    expect(c.port).toBe(10000);
    expect(c.clientOrigins).toEqual(['http://localhost:3000']);
    expect(c.jwtSecretGenerated).toBe(true);
    expect(c.jwtSecret).toHaveLength(64);
    // Demo accounts only where `npm start` asks for them, never by NODE_ENV alone.
    expect(c.seedDemoUsers).toBe(false);
    expect(loadConfig({ SEED_DEMO_USERS: 'true' }).seedDemoUsers).toBe(true);
    expect(c.auth).toMatchObject({ mode: 'standalone', lifetimes: { accessTtlSeconds: 900 }, cookie: { sameSite: 'lax', secure: true } });
  });

  it('registration mail: log in development; in production off unless smtp, and never a log or file of links', () => {
    const prod = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), AUTH_MODE: 'standalone' };
    expect(loadConfig({}).mail.transport).toEqual({ kind: 'log' });
    expect(loadConfig(prod).mail.transport).toEqual({ kind: 'off' });
    expect(() => loadConfig({ ...prod, MAIL_TRANSPORT: 'log' })).toThrow(/MAIL_TRANSPORT=log is for development/);
    expect(() => loadConfig({ ...prod, MAIL_TRANSPORT: 'file' })).toThrow(/MAIL_TRANSPORT=file is for development/);
    expect(
      loadConfig({ ...prod, MAIL_TRANSPORT: 'smtp', SMTP_URL: 'smtp://mail.example:587', MAIL_FROM: 'no-reply@example.com' }).mail
        .transport,
    ).toMatchObject({ kind: 'smtp' });
  });

  it('production needs AUTH_MODE; a FetchWork deployment seeds no accounts; cookie settings are checked', () => {
    const prod = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) };
    expect(() => loadConfig(prod)).toThrow(/AUTH_MODE is required/);
    expect(loadConfig({ ...prod, AUTH_MODE: 'fetchwork', JWT_ISSUER: 'https://fetchwork.example' }).auth).toEqual({
      mode: 'fetchwork',
      issuer: 'https://fetchwork.example',
      audience: undefined,
    });
    expect(() => loadConfig({ AUTH_MODE: 'fetchwork', SEED_DEMO_USERS: 'true' })).toThrow(/SEED_DEMO_USERS needs AUTH_MODE=standalone/);
    expect(() => loadConfig({ REFRESH_COOKIE_SAMESITE: 'none', REFRESH_COOKIE_SECURE: 'false' })).toThrow(/REFRESH_COOKIE_SAMESITE=none/);
    expect(() => loadConfig({ SESSION_IDLE_DAYS: '60', SESSION_MAX_DAYS: '30' })).toThrow(/SESSION_MAX_DAYS/);
    const crossSite = loadConfig({ REFRESH_COOKIE_SAMESITE: 'none', REFRESH_COOKIE_PARTITIONED: 'true', ACCESS_TOKEN_TTL_SECONDS: '300' });
    expect(crossSite.auth).toMatchObject({
      mode: 'standalone',
      lifetimes: { accessTtlSeconds: 300 },
      cookie: { sameSite: 'none', partitioned: true },
    });
  });

  it('refuses to start in production without JWT_SECRET, and says what to set', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET is required/);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/PORT/);
    expect(() => loadConfig({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET must be at least 16/);
    expect(() => loadConfig({ CLIENT_ORIGIN: 'not a url' })).toThrow(/CLIENT_ORIGIN/);
  });

  it('/metrics: open in development and test, off in production, token-protected with METRICS_TOKEN', () => {
    const prod = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), AUTH_MODE: 'standalone' };
    expect(loadConfig({}).metricsAccess).toBe('open');
    expect(loadConfig({ NODE_ENV: 'test' }).metricsAccess).toBe('open');
    expect(loadConfig(prod).metricsAccess).toBe('off');
    expect(loadConfig({ ...prod, METRICS_TOKEN: 'm'.repeat(32) }).metricsAccess).toEqual({ token: 'm'.repeat(32) });
    expect(loadConfig({ METRICS_TOKEN: 'm'.repeat(16) }).metricsAccess).toEqual({ token: 'm'.repeat(16) });
    expect(() => loadConfig({ ...prod, METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN must be at least 16/);
  });

  it('hashes passwords with scrypt N=2^17 unless PASSWORD_SCRYPT_LOG_N says otherwise (14–20)', () => {
    expect(loadConfig({}).passwordHashing).toEqual({ logN: 17, r: 8, p: 1 });
    expect(loadConfig({ PASSWORD_SCRYPT_LOG_N: '15' }).passwordHashing).toEqual({ logN: 15, r: 8, p: 1 });
    expect(() => loadConfig({ PASSWORD_SCRYPT_LOG_N: '10' })).toThrow(/PASSWORD_SCRYPT_LOG_N/);
    expect(() => loadConfig({ PASSWORD_SCRYPT_LOG_N: '21' })).toThrow(/PASSWORD_SCRYPT_LOG_N/);
    expect(() => loadConfig({ PASSWORD_SCRYPT_LOG_N: 'lots' })).toThrow(/PASSWORD_SCRYPT_LOG_N/);
  });

  it('limits new conversations by RATE_LIMIT_NEW_CONVERSATIONS_* and MAX_UNANSWERED_CONVERSATIONS_PER_PERSON (defaults: the production ones)', () => {
    expect(loadConfig({}).conversationLimits).toEqual(DEFAULT_CONVERSATION_LIMITS);
    expect(DEFAULT_CONVERSATION_LIMITS).toEqual({ perWindow: 20, windowSeconds: 600, unansweredPerPair: 5 });
    const set = loadConfig({
      RATE_LIMIT_NEW_CONVERSATIONS_PER_WINDOW: '50',
      RATE_LIMIT_NEW_CONVERSATIONS_WINDOW_MINUTES: '60',
      MAX_UNANSWERED_CONVERSATIONS_PER_PERSON: '2',
    });
    expect(set.conversationLimits).toEqual({ perWindow: 50, windowSeconds: 3600, unansweredPerPair: 2 });
    expect(() => loadConfig({ RATE_LIMIT_NEW_CONVERSATIONS_PER_WINDOW: '0' })).toThrow(/RATE_LIMIT_NEW_CONVERSATIONS_PER_WINDOW/);
    expect(() => loadConfig({ RATE_LIMIT_NEW_CONVERSATIONS_WINDOW_MINUTES: '0.5' })).toThrow(/RATE_LIMIT_NEW_CONVERSATIONS_WINDOW_MINUTES/);
    expect(() => loadConfig({ RATE_LIMIT_NEW_CONVERSATIONS_WINDOW_MINUTES: '1441' })).toThrow(
      /RATE_LIMIT_NEW_CONVERSATIONS_WINDOW_MINUTES/,
    );
    expect(() => loadConfig({ MAX_UNANSWERED_CONVERSATIONS_PER_PERSON: 'many' })).toThrow(/MAX_UNANSWERED_CONVERSATIONS_PER_PERSON/);
  });

  it('splits CLIENT_ORIGIN into a list', () => {
    const c = loadConfig({
      CLIENT_ORIGIN: 'https://app.fetchwork.com, http://localhost:3000',
      JWT_SECRET: 'x'.repeat(32),
      NODE_ENV: 'production',
      AUTH_MODE: 'fetchwork',
    });
    expect(c.clientOrigins).toEqual(['https://app.fetchwork.com', 'http://localhost:3000']);
    expect(c.jwtSecretGenerated).toBe(false);
    expect(c.seedDemoUsers).toBe(false);
  });
});
