import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_SCRYPT_COST, type ScryptCost } from './auth/passwords';
import type { FilePolicy } from './files/file-service';
import type { MetricsAccess } from './observability/metrics';
import { USER_EVENTS_PER_SOCKET_BUDGET } from './realtime/rate-limits';

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(10000),
  HOST: z.string().default('0.0.0.0'),
  JWT_SECRET: z.string().min(16, 'JWT_SECRET must be at least 16 characters').optional(),
  SQLITE_PATH: z.string().default('./data/fetchwork-messaging.sqlite'),
  SQLITE_SYNCHRONOUS: z.enum(['NORMAL', 'FULL']).default('NORMAL'),
  CLIENT_ORIGIN: z.string().default('http://localhost:3000'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SEED_DEMO_USERS: z.enum(['true', 'false']).optional(),
  RATE_LIMIT_HTTP_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  RATE_LIMIT_SOCKET_EVENTS_PER_SECOND: z.coerce.number().int().min(1).default(100),
  RATE_LIMIT_USER_EVENTS_PER_SECOND: z.coerce.number().int().min(1).optional(),
  MAX_SOCKETS_PER_USER: z.coerce.number().int().min(1).default(20),
  TRUST_PROXY: z.string().optional(),
  MONGODB_URI: z.string().regex(/^(mongodb(\+srv)?:\/\/.*)?$/, 'must be a mongodb:// or mongodb+srv:// URI').optional(),
  REDIS_URL: z.string().regex(/^(rediss?:\/\/.*)?$/, 'must be a redis:// or rediss:// URL').optional(),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  FILES_DIR: z.string().default('./data/files'),
  S3_BUCKET: z.string().optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_ENDPOINT: z.url().optional(),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('false'),
  FILE_MAX_BYTES: z.coerce.number().int().min(1).optional(),
  FILE_MESSAGE_MAX_BYTES: z.coerce.number().int().min(1).optional(),
  FILE_QUOTA_BYTES: z.coerce.number().int().min(0).optional(),
  FILE_ALLOWED_TYPES: z.string().optional(),
  FILE_UNSENT_TTL_HOURS: z.coerce.number().min(0.01).default(24),
  ATTACHMENT_LINK_ORIGINS: z.string().optional(),
  CLAMD_HOST: z.string().optional(),
  CLAMD_PORT: z.coerce.number().int().min(1).max(65535).default(3310),
  FILE_SCAN_FAILURE: z.enum(['refuse', 'accept']).default('refuse'),
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
  // 2^14 was the cost before it was stored with the hash: never below that; 2^20 needs 1 GiB a hash.
  PASSWORD_SCRYPT_LOG_N: z.coerce.number().int().min(14).max(20).default(DEFAULT_SCRYPT_COST.logN),
});

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  jwtSecret: string;
  /** True when no JWT_SECRET was given and one was generated for this process. */
  jwtSecretGenerated: boolean;
  sqlitePath: string;
  sqliteSynchronous: 'NORMAL' | 'FULL';
  /** Allowed browser origins for CORS and the Socket.io handshake. */
  clientOrigins: string[];
  logLevel: string;
  seedDemoUsers: boolean;
  /** Shared Redis for presence (and the cross-instance adapter); unset: one instance, in memory. */
  redisUrl: string | undefined;
  /** Production store (a replica set); unset: the embedded SQLite file. */
  mongodbUri: string | undefined;
  rateLimits: { httpRequestsPerMinute: number; socketEventsPerSecond: number; userEventsPerSecond: number; socketsPerUser: number };
  /**
   * `GET /metrics`: with METRICS_TOKEN, for `Authorization: Bearer <token>` only; without it, off in
   * production (metrics describe load and abuse to anyone) and open in development and test.
   */
  metricsAccess: MetricsAccess;
  /** scrypt cost of new and upgraded password hashes (PASSWORD_SCRYPT_LOG_N; default 2^17). */
  passwordHashing: ScryptCost;
  /**
   * Express's `trust proxy`: which proxies' X-Forwarded-For names the client. Unset: none (the
   * per-IP limit keys on the socket address). Behind a load balancer every request would share its
   * address, so set the hop count (`1`) or the proxies' addresses/subnets.
   */
  trustProxy: boolean | number | string;
  /** Where browsers reach this server (attachment urls and download links start with it). */
  publicUrl: string;
  files: {
    storage:
      | { kind: 'disk'; directory: string }
      | { kind: 's3'; bucket: string; region: string; endpoint?: string; accessKeyId?: string; secretAccessKey?: string; forcePathStyle: boolean };
    policy: Partial<FilePolicy>;
    clamd: { host: string; port: number } | null;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and checks the environment once at start; the message says what to set. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (!e.JWT_SECRET && e.NODE_ENV === 'production') {
    throw new ConfigError('JWT_SECRET is required when NODE_ENV=production (use the same secret as the FetchWork API).');
  }
  const userEventsPerSecond = e.RATE_LIMIT_USER_EVENTS_PER_SECOND ?? USER_EVENTS_PER_SOCKET_BUDGET * e.RATE_LIMIT_SOCKET_EVENTS_PER_SECOND;
  if (userEventsPerSecond < e.RATE_LIMIT_SOCKET_EVENTS_PER_SECOND) {
    throw new ConfigError(
      'RATE_LIMIT_USER_EVENTS_PER_SECOND must be at least RATE_LIMIT_SOCKET_EVENTS_PER_SECOND (a user has one socket or more).',
    );
  }
  const origins = e.CLIENT_ORIGIN.split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of origins) {
    if (origin !== '*' && !URL.canParse(origin)) throw new ConfigError(`CLIENT_ORIGIN: "${origin}" is not a URL`);
  }
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    jwtSecret: e.JWT_SECRET ?? randomBytes(32).toString('hex'),
    jwtSecretGenerated: !e.JWT_SECRET,
    sqlitePath: e.SQLITE_PATH,
    sqliteSynchronous: e.SQLITE_SYNCHRONOUS,
    clientOrigins: origins,
    logLevel: e.LOG_LEVEL,
    seedDemoUsers: e.SEED_DEMO_USERS ? e.SEED_DEMO_USERS === 'true' : e.NODE_ENV !== 'production',
    redisUrl: e.REDIS_URL || undefined,
    mongodbUri: e.MONGODB_URI || undefined,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    files: {
      storage: e.S3_BUCKET
        ? {
            kind: 's3',
            bucket: e.S3_BUCKET,
            region: e.S3_REGION,
            endpoint: e.S3_ENDPOINT,
            accessKeyId: e.S3_ACCESS_KEY_ID,
            secretAccessKey: e.S3_SECRET_ACCESS_KEY,
            forcePathStyle: e.S3_FORCE_PATH_STYLE === 'true',
          }
        : { kind: 'disk', directory: e.FILES_DIR },
      policy: {
        ...(e.FILE_MAX_BYTES ? { maxFileBytes: e.FILE_MAX_BYTES } : {}),
        ...(e.FILE_MESSAGE_MAX_BYTES ? { maxMessageBytes: e.FILE_MESSAGE_MAX_BYTES } : {}),
        ...(e.FILE_QUOTA_BYTES !== undefined ? { quotaBytes: e.FILE_QUOTA_BYTES } : {}),
        ...(e.FILE_ALLOWED_TYPES ? { allowedTypes: list(e.FILE_ALLOWED_TYPES) } : {}),
        ...(e.ATTACHMENT_LINK_ORIGINS ? { externalLinkOrigins: originsOf(e.ATTACHMENT_LINK_ORIGINS, 'ATTACHMENT_LINK_ORIGINS') } : {}),
        unattachedTtlMs: e.FILE_UNSENT_TTL_HOURS * 60 * 60 * 1000,
        scanFailure: e.FILE_SCAN_FAILURE,
      },
      clamd: e.CLAMD_HOST ? { host: e.CLAMD_HOST, port: e.CLAMD_PORT } : null,
    },
    metricsAccess: e.METRICS_TOKEN ? { token: e.METRICS_TOKEN } : e.NODE_ENV === 'production' ? 'off' : 'open',
    passwordHashing: { ...DEFAULT_SCRYPT_COST, logN: e.PASSWORD_SCRYPT_LOG_N },
    rateLimits: {
      httpRequestsPerMinute: e.RATE_LIMIT_HTTP_PER_MINUTE,
      socketEventsPerSecond: e.RATE_LIMIT_SOCKET_EVENTS_PER_SECOND,
      userEventsPerSecond,
      socketsPerUser: e.MAX_SOCKETS_PER_USER,
    },
  };
}

const list = (value: string) =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

function originsOf(value: string, name: string): string[] {
  return list(value).map((o) => {
    if (!URL.canParse(o)) throw new ConfigError(`${name}: "${o}" is not a URL`);
    return new URL(o).origin;
  });
}

function parseTrustProxy(value: string | undefined): boolean | number | string {
  const v = value?.trim() ?? '';
  if (v === '' || v === 'false') return false;
  if (v === 'true') return true;
  return /^\d+$/.test(v) ? Number(v) : v;
}
