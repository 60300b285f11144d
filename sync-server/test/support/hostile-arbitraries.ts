/**
 * fast-check arbitraries for hostile input. Each "breaking" arbitrary takes a valid payload and
 * returns one that a strict schema must refuse: a required key dropped, a value of the wrong type,
 * an unknown key, a `__proto__`/`constructor`/`$`-key at some depth, nesting deeper than any valid
 * payload, a huge string or array, or a lone UTF-16 surrogate. Not a test file (no `.test.`).
 */
import fc from 'fast-check';

/** Lone surrogates: not encodable as UTF-8, refused at the edge. Paired ones are fine. */
const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff', 'a\ud83d', '\ude00b', 'x\ud800y'];
export const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', '$gt', '$ne', '$where', '$set', '$expr', '$regex'];
const SPECIAL_STRINGS = [
  '',
  ' ',
  '\u0000',
  '<script>alert(1)</script>',
  '<!DOCTYPE html>',
  "'; DROP TABLE messages; --",
  '%',
  '_',
  '\\',
  '../../etc/passwd',
  'null',
  'undefined',
  '{"$gt":""}',
  '\u202e\u2066',
  '\ud83d\ude00',
  'ℌ𝔢𝔩𝔩𝔬',
];

export const loneSurrogateString = fc
  .tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...LONE_SURROGATES), fc.string({ maxLength: 8 }))
  .map(([a, b, c]) => a + b + c);

/** Short strings of every kind (no huge ones: those are a mutation of their own). */
export const smallString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  loneSurrogateString,
  fc.constantFrom(...SPECIAL_STRINGS, ...HOSTILE_KEYS),
);

export const hugeString = fc.integer({ min: 2_001, max: 150_000 }).map((n) => 'x'.repeat(n));
export const hugeArray = fc.integer({ min: 201, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => i));

/**
 * Nesting deeper than any valid payload (the edge refuses depth > 8). At most 1,000 levels: the
 * test's own client encodes the payload in the test process (socket.io-client's
 * `JSON.stringify`), whose stack holds about 4,000 levels, and with up to 3,000 it overflowed
 * there now and then before anything reached the server. The edge's own check is tested at
 * 100,000 levels (shared-schema/test/validators.test.ts).
 */
export const deepValue = fc.tuple(fc.integer({ min: 9, max: 1_000 }), fc.boolean()).map(([depth, arrays]) => {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = arrays ? [value] : { a: value };
  return value;
});

const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-1, 0, 1.5, 2 ** 53, -(2 ** 53), 1e308),
  smallString,
);

/** Keys of generated objects, hostile ones often. */
export const anyKey = fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom(...HOSTILE_KEYS), loneSurrogateString);

/** Any JSON-ish value, small and shallow. Objects may have own `__proto__` keys. */
export const anyValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(anyKey, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Values a field of the given kind must refuse (never of that kind; never null where null is allowed). */
export type FieldKind = 'string' | 'nullableString' | 'boolean' | 'int' | 'nullableInt' | 'nullableObject' | 'object' | 'array';

export function wrongTypeFor(kind: FieldKind): fc.Arbitrary<unknown> {
  const obj = fc.dictionary(anyKey, scalar, { maxKeys: 3 });
  const arr = fc.array(scalar, { maxLength: 3 });
  switch (kind) {
    case 'string':
    case 'nullableString':
      return fc.oneof(fc.integer(), fc.boolean(), arr, obj, ...(kind === 'string' ? [fc.constant(null)] : []));
    case 'boolean':
      return fc.oneof(smallString, fc.integer(), fc.constant(null), arr, obj);
    case 'int':
    case 'nullableInt':
      return fc.oneof(smallString, fc.boolean(), arr, obj, fc.constantFrom(0.5, -1.25, 1e300), ...(kind === 'int' ? [fc.constant(null)] : []));
    case 'object':
    case 'nullableObject':
      return fc.oneof(smallString, fc.integer(), fc.boolean(), arr, ...(kind === 'object' ? [fc.constant(null)] : []));
    case 'array':
      return fc.oneof(smallString, fc.integer(), fc.boolean(), fc.constant(null), obj);
  }
}

export interface Shape {
  /** Every key of the strict schema, with its kind. */
  fields: Record<string, FieldKind>;
  /** Keys whose absence is an error. */
  required: readonly string[];
  /** String fields with a length limit (a huge string is refused). */
  bounded: readonly string[];
  /** Array fields with a length limit. */
  boundedArrays?: readonly string[];
}

/** Puts `key: value` as an own property (also for `__proto__`), at the top or nested in a field. */
export function withOwn(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy = { ...target };
  Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
  return copy;
}

/**
 * A mutation of `valid` that the strict schema of `shape` must refuse. `label` says what was done,
 * for the failure report.
 */
export function breakObject(valid: Record<string, unknown>, shape: Shape): fc.Arbitrary<{ label: string; value: unknown }> {
  const keys = Object.keys(shape.fields);
  const options: fc.Arbitrary<{ label: string; value: unknown }>[] = [
    fc.constantFrom(...shape.required).map((key) => {
      const { [key]: _dropped, ...rest } = valid;
      return { label: `drop ${key}`, value: rest };
    }),
    fc
      .constantFrom(...keys)
      .chain((key) => wrongTypeFor(shape.fields[key]!).map((v) => ({ label: `wrong type for ${key}`, value: withOwn(valid, key, v) }))),
    fc
      .tuple(anyKey.filter((k) => !keys.includes(k)), anyValue)
      .map(([key, v]) => ({ label: `extra key ${JSON.stringify(key)}`, value: withOwn(valid, key, v) })),
    fc.tuple(fc.constantFrom(...HOSTILE_KEYS), anyValue, fc.option(fc.constantFrom(...keys), { nil: undefined })).map(([key, v, inside]) => {
      if (inside === undefined) return { label: `hostile key ${key} at the top`, value: withOwn(valid, key, v) };
      return { label: `hostile key ${key} inside ${inside}`, value: { ...valid, [inside]: withOwn({ nested: valid[inside] ?? null }, key, v) } };
    }),
    fc.tuple(fc.constantFrom(...keys), deepValue).map(([key, v]) => ({ label: `deep nesting in ${key}`, value: { ...valid, [key]: v } })),
    fc.constantFrom(...keys).chain((key) => {
      const kind = shape.fields[key]!;
      const replacement = kind === 'string' || kind === 'nullableString' ? loneSurrogateString : fc.constant({ [`\ud800${key}`]: 1 });
      return replacement.map((v) => ({ label: `lone surrogate in ${key}`, value: { ...valid, [key]: v } }));
    }),
    fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      smallString,
      fc.array(anyValue, { maxLength: 4 }),
      hugeArray,
    ).map((v) => ({ label: 'not an object', value: v })),
  ];
  if (shape.bounded.length > 0) {
    options.push(
      fc.tuple(fc.constantFrom(...shape.bounded), hugeString).map(([key, v]) => ({ label: `huge string in ${key}`, value: { ...valid, [key]: v } })),
    );
  }
  if (shape.boundedArrays && shape.boundedArrays.length > 0) {
    options.push(
      fc
        .tuple(fc.constantFrom(...shape.boundedArrays), hugeArray)
        .map(([key, v]) => ({ label: `huge array in ${key}`, value: { ...valid, [key]: v } })),
    );
  }
  return fc.oneof(...options);
}

/** Rough size of a payload on the wire, to keep generated socket frames under the frame limit. */
export function wireSize(value: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
