/**
 * npm run test:chaos -- --seed 42 --duration 120 [--users 10 --devices 2 --conversations 2 --messages 100 --kills 3 --keep]
 *
 * Runs one seeded chaos run (see harness.ts), prints its figures line and the findings, and
 * exits non-zero on any violation. The same seed replays the same schedule of actions and
 * faults, as far as timing allows.
 */
import { parseArgs } from 'node:util';
import { runChaos } from './harness';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    duration: { type: 'string', default: '60' },
    users: { type: 'string', default: '4' },
    devices: { type: 'string', default: '2' },
    conversations: { type: 'string', default: '2' },
    messages: { type: 'string' },
    kills: { type: 'string' },
    'quiesce-timeout': { type: 'string', default: '240' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`usage: npm run test:chaos -- [--seed N] [--duration S] [--users U] [--devices D] [--conversations C]
                         [--messages M] [--kills K] [--quiesce-timeout S] [--keep]
  --seed N           the run's seed (default: derived from the clock; printed)
  --duration S       seconds of faults and workload (default 60)
  --users U          users (default 4); --devices D devices per user (default 2)
  --conversations C  conversations per user, a ring (default 2)
  --messages M       messages each device sends (default: one per 2 s of duration)
  --kills K          server kill -9 + restarts (default: one per 2 minutes, at least 1)
  --keep             keep the run directory (SQLite file, server log) even when it passes`);
  process.exit(0);
}

const int = (name: string, v: string | undefined, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer ≥ ${min}`);
    process.exit(2);
  }
  return n;
};

const duration = int('duration', values.duration, 5);
const result = await runChaos({
  seed: int('seed', values.seed, 0),
  durationS: duration,
  users: int('users', values.users, 2),
  devicesPerUser: int('devices', values.devices, 1),
  conversationsPerUser: int('conversations', values.conversations, 1),
  messagesPerClient: values.messages === undefined ? Math.max(1, Math.floor(duration / 2)) : int('messages', values.messages, 1),
  kills: values.kills === undefined ? Math.max(1, Math.floor(duration / 120)) : int('kills', values.kills, 0),
  quiesceTimeoutS: int('quiesce-timeout', values['quiesce-timeout'], 10),
  keep: values.keep,
});

const show = (title: string, items: string[]) => {
  if (items.length === 0) return;
  console.log(`\n${title} (${items.length}):`);
  for (const i of items.slice(0, 15)) console.log(`  - ${i}`);
  if (items.length > 15) console.log(`  … and ${items.length - 15} more`);
};
for (const [k, v] of Object.entries(result.findings)) show(k, v as string[]);
show('errors', result.errors);
show('server log errors', result.serverErrors);
if (result.dir) console.log(`\nrun directory kept: ${result.dir}`);
console.log(`\n${result.line}`);
console.log(result.ok ? 'chaos: PASS' : 'chaos: FAIL');
process.exit(result.ok ? 0 : 1);
