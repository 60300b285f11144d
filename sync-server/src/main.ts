import { dirname } from 'node:path';
import { DEFAULT_SCRYPT_COST } from './auth/passwords';
import { type Config, ConfigError, loadConfig } from './config';
import { clamdScanner } from './files/scanner';
import { createFileStorage } from './files/storage';
import { createLogger, type Logger } from './logger';
import { createFileMailer, createLogMailer, createSmtpMailer, type Mailer } from './mail';
import { devVapidKeys } from './notifications/vapid';
import { seedDemoUsers } from './seed';
import { startSyncServer } from './server';
import { createMongoStore } from './store/mongo';
import { SqliteStore } from './store/sqlite-store';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  if (config.jwtSecretGenerated) {
    log.warn('JWT_SECRET is not set: using a random secret for this process (tokens stop working on restart)');
  }
  if (config.metricsAccess === 'off') log.info('/metrics is disabled: set METRICS_TOKEN to let a scraper read it with a bearer token');
  else if (config.metricsAccess === 'open') log.info('/metrics is open to anyone (no METRICS_TOKEN outside production)');
  log.info(
    { mode: config.auth.mode },
    config.auth.mode === 'fetchwork'
      ? 'auth: FetchWork signs users in; this server issues no tokens'
      : 'auth: standalone accounts and sessions',
  );
  const mail = config.mail.transport;
  if (config.auth.mode === 'standalone' && mail.kind === 'off') {
    log.warn('MAIL_TRANSPORT=off: no self-service registration (set MAIL_TRANSPORT=smtp, SMTP_URL and MAIL_FROM to open it)');
  } else if (config.auth.mode === 'standalone' && mail.kind !== 'smtp') {
    const where = mail.kind === 'file' ? `files in ${mail.directory}` : 'this log';
    log.info(`MAIL_TRANSPORT=${mail.kind}: registration mail is NOT sent; confirmation links go to ${where}`);
  }
  if (config.passwordHashing.logN < DEFAULT_SCRYPT_COST.logN) {
    log.warn({ logN: config.passwordHashing.logN }, 'PASSWORD_SCRYPT_LOG_N is below the recommended 17');
  }
  const store = config.mongodbUri
    ? await createMongoStore({ uri: config.mongodbUri })
    : new SqliteStore({
        path: config.sqlitePath,
        synchronous: config.sqliteSynchronous,
        onCheckpointError: (message) => log.error({ message }, 'WAL checkpoint failed'),
      });
  log.info({ store: config.mongodbUri ? 'mongodb' : 'sqlite' }, 'store opened');
  // The demo (`npm start`) works without configuration; a deployment never makes its own keys
  // (new keys silently invalidate every browser's subscription).
  const vapid =
    config.push.vapid ?? (config.seedDemoUsers && config.env !== 'production' ? devVapidKeys(dirname(config.sqlitePath), log) : null);
  const unsentTtlMs = config.files.policy.unattachedTtlMs ?? 24 * 60 * 60 * 1000;
  const fileStorage = createFileStorage({ ...config.files.storage, uploadExpiryMs: unsentTtlMs });
  const server = await startSyncServer({
    store,
    log,
    jwtSecret: config.jwtSecret,
    corsOrigins: config.clientOrigins,
    port: config.port,
    host: config.host,
    redisUrl: config.redisUrl,
    rateLimits: config.rateLimits,
    conversationLimits: config.conversationLimits,
    trustProxy: config.trustProxy,
    passwordHashing: config.passwordHashing,
    metricsAccess: config.metricsAccess,
    auth: config.auth,
    mail: { mailer: mail.kind === 'off' ? null : mailerFor(mail, log), appUrl: config.mail.appUrl },
    registrationLimits: config.registrationLimits,
    notifications: { vapid, endpoints: config.push.endpoints },
    files: {
      storage: fileStorage,
      scanner: config.files.clamd ? clamdScanner(config.files.clamd) : undefined,
      policy: config.files.policy,
      publicUrl: config.publicUrl,
    },
  });
  if (config.seedDemoUsers) await seedDemoUsers(store, server.accounts, server.messaging, log);

  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

function mailerFor(transport: Exclude<Config['mail']['transport'], { kind: 'off' }>, log: Logger): Mailer {
  if (transport.kind === 'smtp') return createSmtpMailer(transport);
  if (transport.kind === 'file') return createFileMailer(transport.directory);
  return createLogMailer(log);
}
