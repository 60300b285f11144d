import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PushRecordStore, PushSubscriptionRecord } from '../../src/notifications/records';

export interface PushRecordHarness {
  records: PushRecordStore;
  /** Closes the store and removes its data. */
  destroy(): Promise<void>;
}

/** Each call gets a store of its own (own file or database). */
export type PushRecordFactory = () => Promise<PushRecordHarness>;

const ALICE = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const BOB = 'bbbbbbbbbbbbbbbbbbbbbbbb';
const CONV_1 = `c.${ALICE}.${BOB}`;
const CONV_2 = `c.${ALICE}.${BOB}.cccccccccccccccccccccccc`;

/** A minute after a fixed origin, as ISO strings (the form the service writes). */
const at = (minute: number) => new Date(Date.UTC(2030, 0, 1) + minute * 60_000).toISOString();

function subscription(overrides: Partial<PushSubscriptionRecord> = {}): PushSubscriptionRecord {
  return {
    endpoint: `https://fcm.googleapis.com/fcm/send/${randomUUID()}`,
    keys: { p256dh: 'BPublicKey', auth: 'authSecret' },
    userId: ALICE,
    sessionId: null,
    createdAt: at(0),
    lastSuccessAt: null,
    failures: 0,
    ...overrides,
  };
}

const endpoints = (list: readonly PushSubscriptionRecord[]) => list.map((s) => s.endpoint);

/** The notification records port, run against every adapter (SQLite here; MongoDB where a server exists). */
export function registerPushRecordContractTests(name: string, factory: PushRecordFactory): void {
  describe(`push records contract: ${name}`, () => {
    let h: PushRecordHarness;
    beforeEach(async () => {
      h = await factory();
    });
    afterEach(async () => {
      await h.destroy();
    });

    it('stores a subscription under its endpoint and reads it back whole', async () => {
      const s = subscription({ sessionId: 'session-1' });
      expect(await h.records.upsertSubscription(s, 20)).toEqual([]);
      expect(await h.records.getSubscription(s.endpoint)).toStrictEqual(s);
      expect(await h.records.subscriptionsOf(ALICE)).toStrictEqual([s]);
      expect(await h.records.getSubscription('https://fcm.googleapis.com/none')).toBeNull();
    });

    it('a re-posted endpoint replaces the old record, even for another user (one browser, one owner)', async () => {
      const s = subscription();
      await h.records.upsertSubscription(s, 20);
      const again = { ...s, userId: BOB, keys: { p256dh: 'BNewKey', auth: 'newAuth' }, createdAt: at(5), failures: 0 };
      await h.records.upsertSubscription(again, 20);
      expect(await h.records.getSubscription(s.endpoint)).toStrictEqual(again);
      expect(await h.records.subscriptionsOf(ALICE)).toEqual([]);
      expect(await h.records.subscriptionsOf(BOB)).toStrictEqual([again]);
    });

    it("keeps a user's newest subscriptions within the bound and answers which went", async () => {
      const subs = [0, 1, 2, 3].map((m) => subscription({ createdAt: at(m) }));
      for (const s of subs.slice(0, 3)) expect(await h.records.upsertSubscription(s, 3)).toEqual([]);
      await h.records.upsertSubscription(subscription({ userId: BOB, createdAt: at(0) }), 3);
      expect(await h.records.upsertSubscription(subs[3]!, 3)).toEqual([subs[0]!.endpoint]);
      expect(endpoints(await h.records.subscriptionsOf(ALICE))).toEqual(endpoints(subs.slice(1)));
      expect(await h.records.subscriptionsOf(BOB)).toHaveLength(1);
    });

    it('removes one endpoint only for its owner, and by session or by user', async () => {
      const mine = subscription({ sessionId: 's1' });
      const mine2 = subscription({ sessionId: 's2', createdAt: at(1) });
      const mine3 = subscription({ sessionId: 's1', createdAt: at(2) });
      const bobs = subscription({ userId: BOB, sessionId: 's1' });
      for (const s of [mine, mine2, mine3, bobs]) await h.records.upsertSubscription(s, 20);
      expect(await h.records.removeSubscription(mine.endpoint, BOB)).toBe(0);
      expect(await h.records.getSubscription(mine.endpoint)).not.toBeNull();
      expect(await h.records.removeSubscription(mine.endpoint, ALICE)).toBe(1);
      expect(await h.records.removeSessionSubscriptions('s1')).toBe(2);
      expect(endpoints(await h.records.subscriptionsOf(ALICE))).toEqual([mine2.endpoint]);
      expect(await h.records.subscriptionsOf(BOB)).toEqual([]);
      expect(await h.records.removeUserSubscriptions(ALICE)).toBe(1);
      expect(await h.records.subscriptionsOf(ALICE)).toEqual([]);
      expect(await h.records.removeSubscription(mine2.endpoint)).toBe(0);
    });

    it('counts failures until a success resets them', async () => {
      const s = subscription();
      await h.records.upsertSubscription(s, 20);
      await h.records.recordFailure(s.endpoint);
      await h.records.recordFailure(s.endpoint);
      expect(await h.records.getSubscription(s.endpoint)).toMatchObject({ failures: 2, lastSuccessAt: null });
      await h.records.recordSuccess(s.endpoint, at(9));
      expect(await h.records.getSubscription(s.endpoint)).toMatchObject({ failures: 0, lastSuccessAt: at(9) });
      // Settling a subscription that went meanwhile changes nothing and does not fail.
      await h.records.recordFailure('https://fcm.googleapis.com/gone');
      await h.records.recordSuccess('https://fcm.googleapis.com/gone', at(9));
      expect(await h.records.getSubscription('https://fcm.googleapis.com/gone')).toBeNull();
    });

    it('settings: none until changed; each change applies alone and both of two changes stand', async () => {
      expect(await h.records.getSettings(ALICE)).toBeNull();
      expect(await h.records.updateSettings(ALICE, { mute: { conversationId: CONV_2, muted: true } }, at(1))).toEqual({
        previews: 'full',
        muted: [CONV_2],
        updatedAt: at(1),
      });
      await Promise.all([
        h.records.updateSettings(ALICE, { previews: 'private' }, at(2)),
        h.records.updateSettings(ALICE, { mute: { conversationId: CONV_1, muted: true } }, at(2)),
      ]);
      expect(await h.records.getSettings(ALICE)).toEqual({ previews: 'private', muted: [CONV_1, CONV_2], updatedAt: at(2) });
      // Muting twice keeps one entry; unmuting what is not muted changes nothing else.
      await h.records.updateSettings(ALICE, { mute: { conversationId: CONV_1, muted: true } }, at(3));
      await h.records.updateSettings(ALICE, { mute: { conversationId: CONV_2, muted: false } }, at(4));
      await h.records.updateSettings(ALICE, { mute: { conversationId: CONV_2, muted: false } }, at(5));
      expect(await h.records.getSettings(ALICE)).toEqual({ previews: 'private', muted: [CONV_1], updatedAt: at(5) });
      expect(await h.records.getSettings(BOB)).toBeNull();
      expect(await h.records.updateSettings(BOB, { mute: { conversationId: CONV_1, muted: false } }, at(6))).toEqual({
        previews: 'full',
        muted: [],
        updatedAt: at(6),
      });
    });
  });
}
