import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, randomUUID, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Web Push service run by a test: it accepts what a real push service accepts and nothing else.
 * Every request must carry a valid VAPID `Authorization: vapid t=<ES256 JWT>, k=<public key>`
 * (RFC 8292: signature checked with the key, `aud` = this origin, `exp` in the future and at most
 * 24 h away, `sub` a mailto:/https: contact) and an aes128gcm body (RFC 8188), which is decrypted
 * with the subscription's private ECDH key and auth secret (RFC 8291). No part of web-push is used.
 */

export interface ReceivedPush {
  /** Which test subscription it was sent to. */
  subscription: string;
  payload: any;
  ttl: number;
  urgency: string | null;
  topic: string | null;
}

export interface TestSubscription {
  id: string;
  /** What a browser's `PushSubscription.toJSON()` gives. */
  json: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
}

type Answer = { status: number; headers?: Record<string, string> };

export interface PushEndpoint {
  origin: string;
  received: ReceivedPush[];
  /** Requests refused for a bad signature or a body that did not decrypt: must stay empty. */
  refused: string[];
  subscribe(): TestSubscription;
  /** Answers this subscription's pushes with `status` (410: gone, 429/503: retry) after checking them. */
  answer(subscriptionId: string, answer: Answer | null): void;
  /** Holds every answer until the returned function is called (a slow push service). */
  hold(): () => void;
  /** Requests that arrived (answered or held), in all or for one subscription. */
  requests(subscriptionId?: string): number;
  for(subscriptionId: string): ReceivedPush[];
  close(): Promise<void>;
}

const b64u = (buf: Buffer) => buf.toString('base64url');

function verifyVapid(header: string | undefined, origin: string, expectedKey: string): string | null {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  if (!match) return `no vapid authorization: ${header}`;
  const [, jwt, k] = match as unknown as [string, string, string];
  if (k !== expectedKey) return 'k is not the server public key';
  const point = Buffer.from(k, 'base64url');
  if (point.length !== 65 || point[0] !== 4) return 'k is not an uncompressed P-256 point';
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33)) },
    format: 'jwk',
  });
  const [h, p, s] = jwt.split('.');
  if (!h || !p || !s) return 'malformed jwt';
  const head = JSON.parse(Buffer.from(h, 'base64url').toString());
  if (head.alg !== 'ES256') return `alg ${head.alg}`;
  if (!verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))) return 'bad signature';
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  if (claims.aud !== origin) return `aud ${claims.aud} is not ${origin}`;
  const now = Date.now() / 1000;
  if (!(claims.exp > now && claims.exp <= now + 24 * 3600 + 60)) return `exp ${claims.exp} out of range`;
  if (!/^(mailto:|https:)/.test(claims.sub ?? '')) return `sub ${claims.sub}`;
  return null;
}

/** RFC 8291 §3.4 + RFC 8188: one record, keyid = the sender's ephemeral public key. */
function decrypt(body: Buffer, uaPrivate: ReturnType<typeof createECDH>, authSecret: Buffer): string {
  const salt = body.subarray(0, 16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  const ecdhSecret = uaPrivate.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPrivate.getPublicKey(), asPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, authSecret, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('no last-record delimiter');
  return padded.subarray(0, end).toString('utf8');
}

/** Starts the push service on loopback; `serverPublicKey` is the VAPID key pushes must be signed with. */
export async function startPushEndpoint(serverPublicKey: string): Promise<PushEndpoint> {
  const subscriptions = new Map<string, { ecdh: ReturnType<typeof createECDH>; auth: Buffer }>();
  const answers = new Map<string, Answer>();
  const received: ReceivedPush[] = [];
  const refused: string[] = [];
  let held: Promise<void> | null = null;
  const counts = new Map<string, number>();
  let count = 0;
  let origin = '';

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    count++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const id = /^\/push\/([\w-]+)$/.exec(req.url ?? '')?.[1];
    const sub = id ? subscriptions.get(id) : undefined;
    if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
    if (held) await held;
    if (!id || !sub) {
      res.writeHead(404).end();
      return;
    }
    const problem = verifyVapid(req.headers.authorization, origin, serverPublicKey);
    if (problem || req.headers['content-encoding'] !== 'aes128gcm') {
      refused.push(problem ?? `content-encoding ${req.headers['content-encoding']}`);
      res.writeHead(401).end();
      return;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(decrypt(Buffer.concat(chunks), sub.ecdh, sub.auth));
    } catch (err) {
      refused.push(`decryption failed: ${(err as Error).message}`);
      res.writeHead(400).end();
      return;
    }
    const answer = answers.get(id) ?? { status: 201 };
    if (answer.status >= 200 && answer.status < 300) {
      received.push({
        subscription: id,
        payload,
        ttl: Number(req.headers.ttl),
        urgency: (req.headers.urgency as string | undefined) ?? null,
        topic: (req.headers.topic as string | undefined) ?? null,
      });
    }
    res.writeHead(answer.status, answer.headers).end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    received,
    refused,
    subscribe() {
      const id = randomUUID();
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      subscriptions.set(id, { ecdh, auth });
      return {
        id,
        json: { endpoint: `${origin}/push/${id}`, expirationTime: null, keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(auth) } },
      };
    },
    answer(subscriptionId, answer) {
      if (answer) answers.set(subscriptionId, answer);
      else answers.delete(subscriptionId);
    },
    hold() {
      let release!: () => void;
      held = new Promise<void>((resolve) => {
        release = resolve;
      });
      return () => {
        held = null;
        release();
      };
    },
    requests: (subscriptionId) => (subscriptionId === undefined ? count : (counts.get(subscriptionId) ?? 0)),
    for: (subscriptionId) => received.filter((r) => r.subscription === subscriptionId),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
