import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_REGISTRATION_LIMITS, type RegistrationLimits } from './auth/account-service';
import { DEFAULT_SCRYPT_COST, type ScryptCost } from './auth/passwords';
import { DEFAULT_REFRESH_COOKIE, type RefreshCookieSettings } from './auth/sessions/refresh-cookie';
import { DEFAULT_SESSION_LIFETIMES, type SessionLifetimes } from './auth/sessions/session-service';
import type { FilePolicy } from './files/file-service';
import { DEFAULT_ENDPOINT_POLICY, type EndpointPolicy } from './notifications/endpoint-policy';
import { type VapidKeys, vapidProblem } from './notifications/vapid';
import type { MetricsAccess } from './observability/metrics';
import { USER_EVENTS_PER_SOCKET_BUDGET } from './realtime/rate-limits';
import { type ConversationLimitOptions, DEFAULT_CONVERSATION_LIMITS } from './sync/conversation-limits';

const DAY_MS = 24 * 3600 * 1000;

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(10000),
  HOST: z.string().default('0.0.0.0'),
  JWT_SECRET: z.string().min(16, 'JWT_SECRET must be at least 16 characters').optional(),
  SQLITE_PATH: z.string().default('./data/fetchwork-messaging.sqlite'),
  SQLITE_SYNCHRONOUS: z.enum(['NORMAL', 'FULL']).default('NORMAL'),
  CLIENT_ORIGIN: z.string().default('http://localhost:3000'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SEED_DEMO_USERS: z.enum(['true', 'false']).default('false'),
  AUTH_MODE: z.enum(['standalone', 'fetchwork']).optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(30)
    .max(24 * 3600)
    .default(DEFAULT_SESSION_LIFETIMES.accessTtlSeconds),
  SESSION_IDLE_DAYS: z.coerce
    .number()
    .min(0.01)
    .max(365)
    .default(DEFAULT_SESSION_LIFETIMES.idleTtlMs / DAY_MS),
  SESSION_MAX_DAYS: z.coerce
    .number()
    .min(0.01)
    .max(3650)
    .default(DEFAULT_SESSION_LIFETIMES.absoluteTtlMs / DAY_MS),
  REFRESH_COOKIE_SAMESITE: z.enum(['lax', 'strict', 'none']).default(DEFAULT_REFRESH_COOKIE.sameSite),
  REFRESH_COOKIE_SECURE: z.enum(['true', 'false']).default('true'),
  REFRESH_COOKIE_PARTITIONED: z.enum(['true', 'false']).default('false'),
  REFRESH_COOKIE_DOMAIN: z.string().min(1).optional(),
  RATE_LIMIT_HTTP_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  RATE_LIMIT_SOCKET_EVENTS_PER_SECOND: z.coerce.number().int().min(1).default(100),
  RATE_LIMIT_USER_EVENTS_PER_SECOND: z.coerce.number().int().min(1).optional(),
  MAX_SOCKETS_PER_USER: z.coerce.number().int().min(1).default(20),
  RATE_LIMIT_NEW_CONVERSATIONS_PER_WINDOW: z.coerce.number().int().min(1).default(DEFAULT_CONVERSATION_LIMITS.perWindow),
  RATE_LIMIT_NEW_CONVERSATIONS_WINDOW_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(DEFAULT_CONVERSATION_LIMITS.windowSeconds / 60),
  MAX_UNANSWERED_CONVERSATIONS_PER_PERSON: z.coerce.number().int().min(1).default(DEFAULT_CONVERSATION_LIMITS.unansweredPerPair),
  TRUST_PROXY: z.string().optional(),
  MONGODB_URI: z
    .string()
    .regex(/^(mongodb(\+srv)?:\/\/.*)?$/, 'must be a mongodb:// or mongodb+srv:// URI')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^(rediss?:\/\/.*)?$/, 'must be a redis:// or rediss:// URL')
    .optional(),
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
  VAPID_PUBLIC_KEY: z.string().optional(),
  VAPID_PRIVATE_KEY: z.string().optional(),
  VAPID_SUBJECT: z.string().optional(),
  PUSH_ENDPOINT_HOSTS: z.string().optional(),
  MAIL_TRANSPORT: z.enum(['off', 'log', 'file', 'smtp']).optional(),
  MAIL_DIR: z.string().default('./data/mail'),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/.+/, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: z.string().min(3).optional(),
  APP_URL: z.url({ protocol: /^https?$/ }).optional(),
  RATE_LIMIT_REGISTRATIONS_PER_IP_PER_HOUR: z.coerce.number().int().min(1).default(DEFAULT_REGISTRATION_LIMITS.perIp.requests),
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
  /** Only `npm start` (scripts/start.mjs) turns this on: demo accounts are never made by NODE_ENV alone. */
  seedDemoUsers: boolean;
  /** Who signs users in (see AuthOptions in server.ts and docs/operations.md "Sessions"). */
  auth:
    | { mode: 'standalone'; lifetimes: SessionLifetimes; cookie: RefreshCookieSettings }
    | { mode: 'fetchwork'; issuer?: string; audience?: string };
  /** Shared Redis for presence (and the cross-instance adapter); unset: one instance, in memory. */
  redisUrl: string | undefined;
  /** Production store (a replica set); unset: the embedded SQLite file. */
  mongodbUri: string | undefined;
  rateLimits: { httpRequestsPerMinute: number; socketEventsPerSecond: number; userEventsPerSecond: number; socketsPerUser: number };
  /**
   * New conversations per user and window (RATE_LIMIT_NEW_CONVERSATIONS_PER_WINDOW, _WINDOW_MINUTES)
   * and unanswered ones per person (MAX_UNANSWERED_CONVERSATIONS_PER_PERSON); sync/conversation-limits.ts.
   */
  conversationLimits: ConversationLimitOptions;
  /**
   * `GET /metrics`: with METRICS_TOKEN, for `Authorization: Bearer <token>` only; without it, off in
   * production (metrics describe load and abuse to anyone) and open in development and test.
   */
  metricsAccess: MetricsAccess;
  /** scrypt cost of new and upgraded password hashes (PASSWORD_SCRYPT_LOG_N; default 2^17). */
  passwordHashing: ScryptCost;
  /**
   * Registration mail (MAIL_TRANSPORT): `log` writes mails and their links to the log (`npm start`),
   * `file` one JSON file per mail in MAIL_DIR (tests), `smtp` sends them (SMTP_URL, MAIL_FROM),
   * `off` (the production default) takes no self-service registrations.
   * Links point to `${appUrl}/#/confirm/<token>` (APP_URL; default the first CLIENT_ORIGIN).
   */
  mail: {
    transport: { kind: 'off' } | { kind: 'log' } | { kind: 'file'; directory: string } | { kind: 'smtp'; url: string; from: string };
    appUrl: string;
  };
  registrationLimits: RegistrationLimits;
  /** Web Push: the VAPID keys (null: push is off, unless main.ts makes demo keys) and which endpoints may be called. */
  push: { vapid: VapidKeys | null; endpoints: EndpointPolicy };
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
      | {
          kind: 's3';
          bucket: string;
          region: string;
          endpoint?: string;
          accessKeyId?: string;
          secretAccessKey?: string;
          forcePathStyle: boolean;
        };
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
    throw new ConfigError('JWT_SECRET is required when NODE_ENV=production.');
  }
  // Guessing wrong either way is a security decision made silently: issuing tokens under
  // FetchWork's secret, or refusing every FetchWork user.
  if (!e.AUTH_MODE && e.NODE_ENV === 'production') {
    throw new ConfigError(
      'AUTH_MODE is required when NODE_ENV=production: `fetchwork` (FetchWork signs users in; JWT_SECRET is its secret) or `standalone` (this server has accounts and its own JWT_SECRET).',
    );
  }
  const authMode = e.AUTH_MODE ?? 'standalone';
  if (authMode === 'fetchwork' && e.SEED_DEMO_USERS === 'true') {
    throw new ConfigError('SEED_DEMO_USERS needs AUTH_MODE=standalone: in a FetchWork deployment this server makes no accounts.');
  }
  if (e.REFRESH_COOKIE_SAMESITE === 'none' && e.REFRESH_COOKIE_SECURE === 'false') {
    throw new ConfigError('REFRESH_COOKIE_SAMESITE=none needs REFRESH_COOKIE_SECURE=true (browsers drop such a cookie otherwise).');
  }
  if (e.SESSION_MAX_DAYS < e.SESSION_IDLE_DAYS) throw new ConfigError('SESSION_MAX_DAYS must be at least SESSION_IDLE_DAYS.');
  const userEventsPerSecond = e.RATE_LIMIT_USER_EVENTS_PER_SECOND ?? USER_EVENTS_PER_SOCKET_BUDGET * e.RATE_LIMIT_SOCKET_EVENTS_PER_SECOND;
  if (userEventsPerSecond < e.RATE_LIMIT_SOCKET_EVENTS_PER_SECOND) {
    throw new ConfigError(
      'RATE_LIMIT_USER_EVENTS_PER_SECOND must be at least RATE_LIMIT_SOCKET_EVENTS_PER_SECOND (a user has one socket or more).',
    );
  }
  const origins = e.CLIENT_ORIGIN.split(',')
    .map((o) => o.trim())
    .filter(Boolean);
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
    seedDemoUsers: e.SEED_DEMO_USERS === 'true',
    auth:
      authMode === 'fetchwork'
        ? { mode: 'fetchwork', issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE }
        : {
            mode: 'standalone',
            lifetimes: {
              accessTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
              idleTtlMs: e.SESSION_IDLE_DAYS * DAY_MS,
              absoluteTtlMs: e.SESSION_MAX_DAYS * DAY_MS,
              rotationLeewayMs: DEFAULT_SESSION_LIFETIMES.rotationLeewayMs,
            },
            cookie: {
              ...DEFAULT_REFRESH_COOKIE,
              sameSite: e.REFRESH_COOKIE_SAMESITE,
              secure: e.REFRESH_COOKIE_SECURE === 'true',
              partitioned: e.REFRESH_COOKIE_PARTITIONED === 'true',
              ...(e.REFRESH_COOKIE_DOMAIN ? { domain: e.REFRESH_COOKIE_DOMAIN } : {}),
            },
          },
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
    push: pushConfig(e),
    mail: mailConfig(e, origins),
    registrationLimits: {
      ...DEFAULT_REGISTRATION_LIMITS,
      perIp: { requests: e.RATE_LIMIT_REGISTRATIONS_PER_IP_PER_HOUR, windowSeconds: 60 * 60 },
    },
    rateLimits: {
      httpRequestsPerMinute: e.RATE_LIMIT_HTTP_PER_MINUTE,
      socketEventsPerSecond: e.RATE_LIMIT_SOCKET_EVENTS_PER_SECOND,
      userEventsPerSecond,
      socketsPerUser: e.MAX_SOCKETS_PER_USER,
    },
    conversationLimits: {
      perWindow: e.RATE_LIMIT_NEW_CONVERSATIONS_PER_WINDOW,
      windowSeconds: e.RATE_LIMIT_NEW_CONVERSATIONS_WINDOW_MINUTES * 60,
      unansweredPerPair: e.MAX_UNANSWERED_CONVERSATIONS_PER_PERSON,
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

function mailConfig(e: z.infer<typeof envSchema>, origins: string[]): Config['mail'] {
  if (e.MAIL_TRANSPORT === 'smtp' && (!e.SMTP_URL || !e.MAIL_FROM))
    throw new ConfigError('MAIL_TRANSPORT=smtp needs SMTP_URL (smtp:// or smtps://) and MAIL_FROM.');
  const appUrl = (e.APP_URL ?? origins.find((o) => o !== '*') ?? 'http://localhost:3000').replace(/\/+$/, '');
  const kind = e.MAIL_TRANSPORT ?? (e.NODE_ENV === 'production' ? 'off' : 'log');
  // A confirmation link signs its holder in: in production it goes to the address, never to logs or files.
  if (e.NODE_ENV === 'production' && (kind === 'log' || kind === 'file'))
    throw new ConfigError(`MAIL_TRANSPORT=${kind} is for development: in production use smtp (or off: no self-service registration).`);
  const transport: Config['mail']['transport'] =
    kind === 'off'
      ? { kind: 'off' }
      : kind === 'smtp'
        ? { kind: 'smtp', url: e.SMTP_URL!, from: e.MAIL_FROM! }
        : kind === 'file'
          ? { kind: 'file', directory: e.MAIL_DIR }
          : { kind: 'log' };
  return { transport, appUrl };
}

function pushConfig(e: z.infer<typeof envSchema>): Config['push'] {
  const given = [e.VAPID_PUBLIC_KEY, e.VAPID_PRIVATE_KEY, e.VAPID_SUBJECT].filter(Boolean).length;
  if (given > 0 && given < 3)
    throw new ConfigError('VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT go together: set all three or none.');
  const vapid = given === 3 ? { publicKey: e.VAPID_PUBLIC_KEY!, privateKey: e.VAPID_PRIVATE_KEY!, subject: e.VAPID_SUBJECT! } : null;
  const problem = vapid && vapidProblem(vapid);
  if (problem) throw new ConfigError(problem);
  const hosts =
    e.PUSH_ENDPOINT_HOSTS?.trim() === '*'
      ? '*'
      : e.PUSH_ENDPOINT_HOSTS
        ? list(e.PUSH_ENDPOINT_HOSTS.toLowerCase())
        : DEFAULT_ENDPOINT_POLICY.hosts;
  // A push endpoint on the server's own loopback is a test's or an emulator's, never a browser's.
  return { vapid, endpoints: { hosts, allowLoopbackHttp: e.NODE_ENV !== 'production' } };
}
