import fc from 'fast-check';
import { fillWithDefaultSettings, type RxJsonSchema } from 'rxdb';
import { checkSchema } from 'rxdb/plugins/dev-mode';
import { getValidator } from 'rxdb/plugins/validate-ajv';
import { describe, expect, it } from 'vitest';
import { mergeMessage } from '../src/conflict/message-conflict';
import { LIMITS } from '../src/protocol';
import { conversationRxSchema, messageRxSchema } from '../src/rx-schemas';
import { wireConversationSchema, wireMessageSchema } from '../src/validators';
import { conversationArb, looseMessageArb, loosePairArb, NUM_RUNS, sentMessage } from './arbitraries';

interface PropertySchema {
  type?: string | string[];
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
}

const SCHEMAS: [string, RxJsonSchema<any>, { shape: Record<string, unknown> }][] = [
  ['messages', messageRxSchema, wireMessageSchema],
  ['conversations', conversationRxSchema, wireConversationSchema],
];

function propertiesOf(schema: RxJsonSchema<unknown>): Record<string, PropertySchema> {
  return schema.properties as Record<string, PropertySchema>;
}

function indexedFields(schema: RxJsonSchema<unknown>): string[] {
  const indexes = (schema.indexes ?? []) as readonly (string | readonly string[])[];
  return [...new Set(indexes.flatMap((index): string[] => (typeof index === 'string' ? [index] : [...index])))];
}

/** The RxDB/Dexie index rules from TOOLCHAIN.md, as a list of violations. */
function indexProblems(schema: RxJsonSchema<unknown>): string[] {
  const properties = propertiesOf(schema);
  const required = (schema.required ?? []) as readonly string[];
  const problems: string[] = [];
  for (const field of indexedFields(schema)) {
    const prop = properties[field];
    if (!prop) {
      problems.push(`${field}: indexed but not a property`);
      continue;
    }
    if (!required.includes(field)) problems.push(`${field}: indexed but optional`);
    if (typeof prop.type !== 'string' || prop.type === 'null') problems.push(`${field}: indexed but nullable or untyped`);
    if (prop.type === 'string' && !(typeof prop.maxLength === 'number' && prop.maxLength > 0))
      problems.push(`${field}: indexed string without maxLength`);
    if (
      (prop.type === 'number' || prop.type === 'integer') &&
      (prop.multipleOf === undefined || prop.minimum === undefined || prop.maximum === undefined)
    ) {
      problems.push(`${field}: indexed number without multipleOf/minimum/maximum`);
    }
  }
  return problems;
}

describe('indexProblems (the checker used below) catches each broken rule', () => {
  it('flags an optional, a nullable, an unbounded string and an unbounded number index', () => {
    const broken = {
      ...messageRxSchema,
      properties: {
        ...messageRxSchema.properties,
        seq: { type: 'number', minimum: 0 },
        sender: { type: 'string' },
        sentAt: { type: ['string', 'null'], maxLength: 40 },
      },
      required: (messageRxSchema.required as string[]).filter((f) => f !== 'recipient'),
      indexes: ['seq', 'sender', 'sentAt', ['recipient', 'isRead']],
    } as unknown as RxJsonSchema<unknown>;
    expect(indexProblems(broken)).toStrictEqual([
      'seq: indexed number without multipleOf/minimum/maximum',
      'sender: indexed string without maxLength',
      'sentAt: indexed but nullable or untyped',
      'recipient: indexed but optional',
    ]);
  });
});

describe.each(SCHEMAS)('%s RxDB schema', (title, schema, wireSchema) => {
  const properties = propertiesOf(schema);
  const required = schema.required as readonly string[];

  it('is titled after its collection', () => {
    expect(schema.title).toBe(title);
  });

  it('lists only existing properties as required, and requires every property', () => {
    for (const field of required) expect(Object.keys(properties), field).toContain(field);
    expect([...required].sort()).toStrictEqual(Object.keys(properties).sort());
  });

  it("has exactly the fields of the wire validator (minus RxDB's _deleted)", () => {
    const wireFields = Object.keys(wireSchema.shape).filter((f) => f !== '_deleted');
    expect(Object.keys(properties).sort()).toStrictEqual(wireFields.sort());
  });

  it('has a required string primary key with maxLength', () => {
    const key = schema.primaryKey as string;
    expect(typeof key).toBe('string');
    expect(required).toContain(key);
    expect(properties[key]?.type).toBe('string');
    expect(properties[key]?.maxLength).toBeGreaterThan(0);
    expect(properties[key]?.maxLength).toBeLessThanOrEqual(LIMITS.docIdMaxLength);
  });

  it('indexes only required, non-nullable fields; strings have maxLength; numbers have multipleOf/minimum/maximum', () => {
    expect(indexedFields(schema).length).toBeGreaterThan(0);
    expect(indexProblems(schema)).toStrictEqual([]);
  });

  it("passes RxDB's own dev-mode schema check", () => {
    expect(() => checkSchema(schema)).not.toThrow();
  });
});

describe('RxDB schemas agree with the wire validators on real documents', () => {
  const validateMessage = getValidator(fillWithDefaultSettings(messageRxSchema));
  const validateConversation = getValidator(fillWithDefaultSettings(conversationRxSchema));
  const META = { _rev: '1-a', _meta: { lwt: 1 }, _attachments: {} };

  it('every message the wire validator accepts is a valid RxDB document', () => {
    fc.assert(
      fc.property(looseMessageArb, (m) => {
        expect(wireMessageSchema.safeParse(m).success).toBe(true);
        expect(validateMessage({ ...m, ...META })).toStrictEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('every merge result is a valid RxDB document (the resolved state can be written locally)', () => {
    fc.assert(
      fc.property(loosePairArb, ({ master, local }) => {
        expect(validateMessage({ ...mergeMessage(master, local), ...META })).toStrictEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('every conversation the wire validator accepts is a valid RxDB document', () => {
    fc.assert(
      fc.property(conversationArb, (c) => {
        expect(validateConversation({ ...c, ...META })).toStrictEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('refuses content over the limit, an unknown key and a missing field', () => {
    expect(validateMessage({ ...sentMessage({ content: 'x'.repeat(LIMITS.contentMaxLength + 1) }), ...META })).not.toStrictEqual([]);
    expect(validateMessage({ ...sentMessage(), extra: 1, ...META })).not.toStrictEqual([]);
    const { sentAt: _omit, ...withoutSentAt } = sentMessage();
    expect(validateMessage({ ...withoutSentAt, ...META })).not.toStrictEqual([]);
  });
});

/**
 * The RxDB schema caps every time at 40 characters; the wire validator admits only canonical
 * `...sssZ` times (24 characters), so whatever the server accepts, the client's RxDB accepts.
 */
describe('every time the wire validator accepts fits the RxDB schema', () => {
  const validateMessage = getValidator(fillWithDefaultSettings(messageRxSchema));

  it('refuses a read time with 30 fractional digits, and a canonical one fits RxDB', () => {
    const long = `2024-05-01T10:00:00.${'1'.repeat(30)}Z`;
    expect(wireMessageSchema.safeParse(sentMessage({ isRead: true, readAt: long, deliveredAt: long })).success).toBe(false);
    const readAt = '2024-05-01T10:00:00.123Z';
    const doc = sentMessage({ isRead: true, readAt, deliveredAt: readAt });
    expect(wireMessageSchema.safeParse(doc).success).toBe(true);
    expect(validateMessage({ ...doc, _rev: '1-a', _meta: { lwt: 1 }, _attachments: {} })).toStrictEqual([]);
  });
});
