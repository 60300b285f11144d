/**
 * Where the MongoDB suites run: MONGODB_URI when set, else a single-node replica set from
 * mongodb-memory-server when it is installed and can start a mongod. Neither is possible on the
 * build machine, so a suite gets `{ skip: reason }` and must say loudly that it skipped.
 */
export type MongoTarget = { uri: string; source: string; stop?: () => Promise<void> } | { skip: string };

async function memoryServer(): Promise<MongoTarget> {
  // A variable specifier: the package is optional and not a dependency (its postinstall downloads mongod).
  const name = 'mongodb-memory-server';
  const mod = (await import(/* @vite-ignore */ name).catch(() => null)) as {
    MongoMemoryReplSet: { create(o: unknown): Promise<{ getUri(): string; stop(): Promise<unknown> }> };
  } | null;
  if (!mod) {
    return {
      skip: 'MONGODB_URI is not set and mongodb-memory-server is not installed (its mongod binary download is blocked on this machine, and no MongoDB server package exists for it)',
    };
  }
  try {
    const rs = await mod.MongoMemoryReplSet.create({ replSet: { count: 1, storageEngine: 'wiredTiger' } });
    return { uri: rs.getUri(), source: 'mongodb-memory-server', stop: async () => void (await rs.stop()) };
  } catch (err) {
    return {
      skip: `MONGODB_URI is not set and mongodb-memory-server could not start a mongod: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

export function mongoTarget(): Promise<MongoTarget> {
  return process.env.MONGODB_URI ? Promise.resolve({ uri: process.env.MONGODB_URI, source: 'MONGODB_URI' }) : memoryServer();
}
