import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { type PushEndpoint, startPushEndpoint } from '../support/push-endpoint';
import { VAPID } from './setup';

/** The test push service must refuse what a real one refuses, or the other tests prove nothing. */
let push: PushEndpoint;
beforeAll(async () => {
  push = await startPushEndpoint(VAPID.publicKey);
});
afterAll(async () => {
  await push?.close();
});

async function post(details: webpush.RequestDetails, body?: Buffer) {
  const headers = Object.fromEntries(
    Object.entries(details.headers)
      .filter(([k]) => k !== 'Content-Length')
      .map(([k, v]) => [k, String(v)]),
  );
  return fetch(details.endpoint, { method: 'POST', headers, body: new Uint8Array(body ?? details.body!) });
}

describe('the test push endpoint', () => {
  it('accepts a correctly signed and encrypted push and decrypts it', async () => {
    const sub = push.subscribe();
    const res = await post(webpush.generateRequestDetails(sub.json, '{"kind":"clear","conversationId":"c"}', { vapidDetails: VAPID }));
    expect(res.status).toBe(201);
    expect(push.for(sub.id).map((p) => p.payload)).toEqual([{ kind: 'clear', conversationId: 'c' }]);
  });

  it('refuses a push signed with other VAPID keys, and one whose ciphertext was altered', async () => {
    const sub = push.subscribe();
    const other = { ...webpush.generateVAPIDKeys(), subject: VAPID.subject };
    expect((await post(webpush.generateRequestDetails(sub.json, 'x', { vapidDetails: other }))).status).toBe(401);
    const forged = webpush.generateRequestDetails(sub.json, 'x', { vapidDetails: other });
    forged.headers.Authorization = String(forged.headers.Authorization).replace(/k=.*/, `k=${VAPID.publicKey}`);
    expect((await post(forged)).status).toBe(401);
    const details = webpush.generateRequestDetails(sub.json, 'hello', { vapidDetails: VAPID });
    const tampered = Buffer.from(details.body!);
    tampered[tampered.length - 1]! ^= 1;
    expect((await post(details, tampered)).status).toBe(400);
    expect(push.for(sub.id)).toEqual([]);
    expect(push.refused).toEqual(['k is not the server public key', 'bad signature', expect.stringMatching(/^decryption failed/)]);
  });
});
