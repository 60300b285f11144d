import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const KEY_LENGTH = 64;
const SALT_LENGTH = 16;

/** scrypt's cost: N = 2^logN, block size r, parallelism p. */
export interface ScryptCost {
  logN: number;
  r: number;
  p: number;
}

/**
 * Current guidance (OWASP: N=2^17, r=8, p=1): ~0.1–0.6 s and 128 MiB per hash. Tests pass a
 * cheaper cost explicitly; an operator may too (PASSWORD_SCRYPT_LOG_N, docs/operations.md).
 */
export const DEFAULT_SCRYPT_COST: ScryptCost = { logN: 17, r: 8, p: 1 };

/** What `scrypt$<salt>$<hash>` (the format before costs were stored) was made with: Node's defaults. */
const LEGACY_COST: ScryptCost = { logN: 14, r: 8, p: 1 };

/**
 * Hashes may run at most this many at a time; the others wait their turn. Each takes
 * 128·N·r bytes (128 MiB at 2^17) and a libuv thread: unbounded, a burst of sign-ins would take
 * every thread file I/O needs and several hundred MiB at once.
 */
const MAX_CONCURRENT_HASHES = 2;

function scryptAsync(password: string, salt: Buffer, keylen: number, cost: ScryptCost): Promise<Buffer> {
  const N = 2 ** cost.logN;
  return new Promise((resolve, reject) => {
    // maxmem: Node refuses anything above 32 MiB by default, and 2^17 needs 128·N·r = 128 MiB.
    scrypt(password.normalize('NFKC'), salt, keylen, { N, r: cost.r, p: cost.p, maxmem: 2 * 128 * N * cost.r }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

let running = 0;
const waiting: (() => void)[] = [];

async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_HASHES) await new Promise<void>((resolve) => waiting.push(resolve));
  else running += 1;
  try {
    return await work();
  } finally {
    // The slot passes straight to the next in line (running stays counted for it).
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  }
}

interface ParsedHash {
  cost: ScryptCost;
  salt: Buffer;
  hash: Buffer;
}

const COST_FIELD = /^ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})$/;
const HEX = /^(?:[0-9a-f]{2})+$/;

/** `scrypt$ln=<logN>,r=<r>,p=<p>$<salt hex>$<hash hex>`, or the legacy `scrypt$<salt hex>$<hash hex>`. */
function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  let cost: ScryptCost;
  let saltHex: string | undefined;
  let hashHex: string | undefined;
  if (parts[0] !== 'scrypt') return null;
  if (parts.length === 3) {
    cost = LEGACY_COST;
    [, saltHex, hashHex] = parts;
  } else if (parts.length === 4) {
    const m = COST_FIELD.exec(parts[1] ?? '');
    if (!m) return null;
    cost = { logN: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
    [, , saltHex, hashHex] = parts;
  } else {
    return null;
  }
  // Bounds keep a corrupt or planted row from asking for gigabytes of memory.
  if (cost.logN < 1 || cost.logN > 20 || cost.r < 1 || cost.p < 1 || cost.p > 4) return null;
  if (!saltHex || !hashHex || !HEX.test(saltHex) || !HEX.test(hashHex)) return null;
  return { cost, salt: Buffer.from(saltHex, 'hex'), hash: Buffer.from(hashHex, 'hex') };
}

const formatHash = (cost: ScryptCost, salt: Buffer, hash: Buffer) =>
  `scrypt$ln=${cost.logN},r=${cost.r},p=${cost.p}$${salt.toString('hex')}$${hash.toString('hex')}`;

const sameCost = (a: ScryptCost, b: ScryptCost) => a.logN === b.logN && a.r === b.r && a.p === b.p;

/** scrypt with a random salt; the cost is stored with the hash so it can be raised later. */
export async function hashPassword(password: string, cost: ScryptCost = DEFAULT_SCRYPT_COST): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  return formatHash(cost, salt, await limited(() => scryptAsync(password, salt, KEY_LENGTH, cost)));
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const actual = await limited(() => scryptAsync(password, parsed.salt, parsed.hash.length, parsed.cost));
  return actual.length === parsed.hash.length && timingSafeEqual(actual, parsed.hash);
}

/** True when the stored hash was made with another cost (or the legacy format): rehash it on sign-in. */
export function needsRehash(stored: string, cost: ScryptCost = DEFAULT_SCRYPT_COST): boolean {
  const parsed = parseHash(stored);
  return !parsed || !sameCost(parsed.cost, cost);
}

/**
 * True when checking against the stored hash is less work than a check at `cost` (an older, cheaper
 * hash, or one that cannot be read and so is checked with no work at all).
 */
export function cheaperThan(stored: string, cost: ScryptCost = DEFAULT_SCRYPT_COST): boolean {
  const parsed = parseHash(stored);
  const work = (c: ScryptCost) => 2 ** c.logN * c.r * c.p;
  return !parsed || work(parsed.cost) < work(cost);
}

/**
 * A hash no password matches (random bytes, not a scrypt output), at the given cost. Verifying
 * against it does exactly the work a real account's check does, so a sign-in for an email with no
 * account (or no password) takes as long as a wrong password for one that exists.
 */
export function unmatchableHash(cost: ScryptCost = DEFAULT_SCRYPT_COST): string {
  return formatHash(cost, randomBytes(SALT_LENGTH), randomBytes(KEY_LENGTH));
}
