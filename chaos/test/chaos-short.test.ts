import { expect, test } from 'vitest';
import { runChaos } from '../harness';

/**
 * A short seeded chaos run as part of `npm test`: a real sync-server process on a SQLite file,
 * six devices (three users, two devices each, the real client data layer on fake IndexedDB)
 * behind fault proxies, with cuts, offline periods, slow links, reloads with unsent writes and
 * two server kill -9s while they write. It fails on any message lost or duplicated, any replica
 * that differs from the server, any checkpoint beyond what a replica holds, or when the faults
 * did not actually happen. `npm run test:chaos` runs longer ones (see docs/testing.md).
 */
test('seeded chaos: nothing lost, nothing duplicated, every replica equal to the server', { timeout: 420_000 }, async () => {
  const lines: string[] = [];
  const result = await runChaos({
    seed: 20261127,
    durationS: 35,
    users: 3,
    devicesPerUser: 2,
    conversationsPerUser: 2,
    messagesPerClient: 25,
    kills: 2,
    quiesceTimeoutS: 180,
    log: (l) => lines.push(l),
  });
  console.log(`${lines.join('\n')}\n${result.line}`);
  const f = result.figures;
  const findings = Object.entries(result.findings).flatMap(([kind, items]) => (items as string[]).slice(0, 5).map((i) => `${kind}: ${i}`));
  expect(findings, `findings (run directory ${result.dir})`).toEqual([]);
  expect(result.errors).toEqual([]);
  expect(f.converged).toBe(true);
  expect({ lost: f.lost, duplicated: f.duplicated, diverged: f.diverged, checkpoint: f.checkpoint, unsettled: f.unsettled }).toEqual({
    lost: 0,
    duplicated: 0,
    diverged: 0,
    checkpoint: 0,
    unsettled: 0,
  });
  // The run really was hostile and really did work.
  expect(f.faults.kill).toBeGreaterThanOrEqual(1);
  expect(f.faults.cut).toBeGreaterThanOrEqual(1);
  expect(f.faults.blackhole + f.faults.refuse).toBeGreaterThanOrEqual(1);
  expect(f.faults.reload).toBeGreaterThanOrEqual(1);
  expect(f.messages).toBe(6 * 25);
  expect(f.serverMessages).toBe(f.messages);
  expect(result.ok).toBe(true);
});
