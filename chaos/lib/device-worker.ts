/**
 * A child process hosting a few chaos devices. RxDB's open-source build allows 13 open
 * collections per process and a device holds 3, so the harness spreads devices over workers
 * (at most 4 each). Each worker has its own fake IndexedDB, which outlives a device's reload.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { getInboxStorage } from '../../client/src/db/dexie-storage';
import { ChaosDevice } from './device';
import { serveRpc } from './ipc';
import type { DeviceSpec } from './types';

// RxDB's Dexie storage prints an "Open Core" notice on first use: keep the run's output readable.
for (const level of ['log', 'warn', 'info'] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    const text = args.map(String).join(' ');
    if (/Open Core|rxdb\.info|premium|setPremiumFlag|^-{20,}$|Dexie\.js based RxStorage|enhance performance and reliability/.test(text))
      return;
    original(...args);
  };
}

const storage = getInboxStorage({ indexedDB, IDBKeyRange });
const devices = new Map<string, ChaosDevice>();
const processErrors: string[] = [];
process.on('unhandledRejection', (err) => {
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  if (processErrors.length < 20) processErrors.push(text);
});

const device = (label: string) => {
  const d = devices.get(label);
  if (!d) throw new Error(`no device ${label} in this worker`);
  return d;
};

serveRpc(
  {
    async open(args: { specs: DeviceSpec[] }) {
      await Promise.all(
        args.specs.map(async (spec) => {
          const d = new ChaosDevice(spec, storage);
          devices.set(spec.label, d);
          await d.open();
        }),
      );
      return devices.size;
    },
    start() {
      for (const d of devices.values()) d.start();
    },
    async stop() {
      await Promise.all([...devices.values()].map((d) => d.stop()));
    },
    done() {
      return [...devices.values()].every((d) => d.done);
    },
    reload(args: { label: string; awayMs: number }) {
      return device(args.label).reload(args.awayMs);
    },
    startOver(args: { label: string; awayMs: number }) {
      return device(args.label).startOver(args.awayMs);
    },
    kick() {
      for (const d of devices.values()) d.kick();
    },
    digest() {
      return Promise.all([...devices.values()].map((d) => d.digest()));
    },
    checkpoints(args: { label: string }) {
      return device(args.label).checkpoints();
    },
    localSeqs(args: { label: string; collection: 'messages' | 'conversations'; ids: string[] }) {
      return device(args.label).localSeqs(args.collection, args.ids);
    },
    dump() {
      return Promise.all([...devices.values()].map((d) => d.dump()));
    },
    errors() {
      return processErrors;
    },
    inspect(args: { label: string; collection: 'messages' | 'conversations'; id: string }) {
      return device(args.label).inspect(args.collection, args.id);
    },
    note(args: { label: string; line: string }) {
      devices.get(args.label)?.note(args.line);
    },
    writeLogs(args: { dir: string }) {
      for (const d of devices.values()) writeFileSync(join(args.dir, `${d.spec.label}.log`), `${d.events.join('\n')}\n`);
    },
    async close() {
      await Promise.all([...devices.values()].map((d) => d.close()));
    },
  },
  async () => {
    await Promise.all([...devices.values()].map((d) => d.close().catch(() => undefined)));
  },
);
