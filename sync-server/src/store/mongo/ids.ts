import { createHash } from 'node:crypto';
import { Types } from 'mongoose';

/**
 * How sync ids meet FetchWork's ObjectIds.
 *
 * Every message and conversation document keeps an ObjectId `_id`, as FetchWork's own models
 * expect (findById, populate('lastMessage'), populate('conversation')). A sync id that is an
 * ObjectId's canonical hex (documents written by the old REST API) is that `_id`. Any other sync
 * id (a client's UUIDv7/ULID, a derived `c.<a>.<b>` conversation id) is kept verbatim in
 * `clientId`, and its `_id` is derived from it deterministically, so a reference to it can be
 * computed without reading the referenced document and a retried insert lands on the same `_id`.
 * Changing the derivation would orphan every stored reference: it is versioned by DERIVATION_TAG.
 */

type ObjectId = Types.ObjectId;

/** Only lowercase: an uppercase hex user id stored as ObjectId would come back lowercased, i.e. as another id. */
const CANONICAL_OBJECT_ID = /^[0-9a-f]{24}$/;
const UUID_V7 = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const DERIVATION_TAG = 'fetchwork-messaging/v1:';
const MAX_UINT32 = 0xffffffff;

export function isCanonicalObjectIdHex(id: string): boolean {
  return CANONICAL_OBJECT_ID.test(id);
}

/** The creation time (ms) a UUIDv7 or ULID carries, or null. */
export function embeddedTimeMs(id: string): number | null {
  const uuid = UUID_V7.exec(id);
  if (uuid) return Number.parseInt(uuid[1]! + uuid[2]!, 16);
  if (ULID.test(id)) {
    let ms = 0;
    for (const ch of id.slice(0, 10).toUpperCase()) ms = ms * 32 + CROCKFORD.indexOf(ch);
    return ms;
  }
  return null;
}

/**
 * The `_id` of the document with this sync id. For derived ids the first four bytes are the
 * creation second the id carries (so FetchWork code sorting by `_id` still sees rough creation
 * order); the rest, or all twelve bytes when the id carries no time, come from SHA-256.
 */
export function objectIdFor(syncId: string): ObjectId {
  if (isCanonicalObjectIdHex(syncId)) return new Types.ObjectId(syncId);
  const hash = createHash('sha256')
    .update(DERIVATION_TAG + syncId)
    .digest();
  const bytes = Buffer.alloc(12);
  const ms = embeddedTimeMs(syncId);
  const seconds = ms === null ? null : Math.floor(ms / 1000);
  if (seconds !== null && seconds <= MAX_UINT32) {
    bytes.writeUInt32BE(seconds, 0);
    hash.copy(bytes, 4, 0, 8);
  } else {
    hash.copy(bytes, 0, 0, 12);
  }
  return new Types.ObjectId(bytes);
}

/** The verbatim id to store in `clientId`, or undefined when the `_id` is the id. */
export function clientIdFor(syncId: string): string | undefined {
  return isCanonicalObjectIdHex(syncId) ? undefined : syncId;
}

/** The sync id of a stored document: its client id when it has one, else its ObjectId's hex. */
export function syncIdOf(record: { _id: ObjectId; clientId?: string | null }): string {
  return record.clientId ?? record._id.toHexString();
}

/** A user or job reference: an ObjectId where FetchWork stores one (24-hex ids), else the string. */
export type Ref = ObjectId | string;

export function toRef(id: string): Ref {
  return isCanonicalObjectIdHex(id) ? new Types.ObjectId(id) : id;
}

export function fromRef(ref: unknown): string {
  if (typeof ref === 'string') return ref;
  if (ref instanceof Types.ObjectId) return ref.toHexString();
  throw new TypeError(`not an id reference: ${String(ref)}`);
}
