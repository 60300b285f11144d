import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';

describe('config', () => {
  it('uses the embedded defaults and generates a development secret', () => {
    const c = loadConfig({});
    expect(c.port).toBe(10000);
    expect(c.clientOrigins).toEqual(['http://localhost:3000']);
    expect(c.jwtSecretGenerated).toBe(true);
    expect(c.jwtSecret).toHaveLength(64);
    expect(c.seedDemoUsers).toBe(true);
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
    const prod = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) };
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

  it('splits CLIENT_ORIGIN into a list', () => {
    const c = loadConfig({ CLIENT_ORIGIN: 'https://app.fetchwork.com, http://localhost:3000', JWT_SECRET: 'x'.repeat(32), NODE_ENV: 'production' });
    expect(c.clientOrigins).toEqual(['https://app.fetchwork.com', 'http://localhost:3000']);
    expect(c.jwtSecretGenerated).toBe(false);
    expect(c.seedDemoUsers).toBe(false);
  });
});
