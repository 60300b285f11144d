import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { RedisChangeBus } from '../sync/redis-change-bus';
import type { SyncServer } from './types';

export interface RedisWiring {
  bus: RedisChangeBus;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * With REDIS_URL: the Socket.io Redis adapter (so room emits such as presence and typing reach
 * sockets on every instance) and the Redis change bus (so every instance streams commits to its
 * own sockets). Four connections: the adapter and the bus each need a subscriber of their own.
 */
export async function wireRedis(io: SyncServer, url: string, log: Logger): Promise<RedisWiring> {
  const options = { maxRetriesPerRequest: 3 };
  const adapterPub = new Redis(url, options);
  const adapterSub = adapterPub.duplicate();
  const busPub = adapterPub.duplicate();
  const busSub = adapterPub.duplicate();
  const all = [adapterPub, adapterSub, busPub, busSub];
  for (const client of all) client.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  io.adapter(createAdapter(adapterPub, adapterSub));
  const bus = await RedisChangeBus.connect(busPub, busSub, log);
  return {
    bus,
    async ping() {
      await adapterPub.ping();
    },
    async close() {
      await bus.close();
      for (const client of all) client.disconnect();
    },
  };
}
