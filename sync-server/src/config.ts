import { randomBytes } from 'node:crypto';
import { z } from 'zod';

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
  MAX_SOCKETS_PER_USER: z.coerce.number().int().min(1).default(20),
  TRUST_PROXY: z.string().optional(),
  MONGODB_URI: z.string().regex(/^(mongodb(\+srv)?:\/\/.*)?$/, 'must be a mongodb:// or mongodb+srv:// URI').optional(),
  REDIS_URL: z.string().regex(/^(rediss?:\/\/.*)?$/, 'must be a redis:// or rediss:// URL').optional(),
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
  rateLimits: { httpRequestsPerMinute: number; socketEventsPerSecond: number; socketsPerUser: number };
  /**
   * Express's `trust proxy`: which proxies' X-Forwarded-For names the client. Unset: none (the
   * per-IP limit keys on the socket address). Behind a load balancer every request would share its
   * address, so set the hop count (`1`) or the proxies' addresses/subnets.
   */
  trustProxy: boolean | number | string;
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
    rateLimits: {
      httpRequestsPerMinute: e.RATE_LIMIT_HTTP_PER_MINUTE,
      socketEventsPerSecond: e.RATE_LIMIT_SOCKET_EVENTS_PER_SECOND,
      socketsPerUser: e.MAX_SOCKETS_PER_USER,
    },
  };
}

function parseTrustProxy(value: string | undefined): boolean | number | string {
  const v = value?.trim() ?? '';
  if (v === '' || v === 'false') return false;
  if (v === 'true') return true;
  return /^\d+$/.test(v) ? Number(v) : v;
}
