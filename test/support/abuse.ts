import { z } from 'zod';

/** Payloads that are wrong in shape, type or size for (almost) any request schema. */
export function abusivePayloads(spec: z.ZodType): unknown[] {
  const deep: Record<string, unknown> = {};
  let cursor = deep;
  for (let i = 0; i < 2000; i += 1) cursor = (cursor.n = {}) as Record<string, unknown>;
  const base: unknown[] = [undefined, null, 0, -1, Number.NaN, 'x', 'x'.repeat(5_000_000), true, [], [1, 2], deep, { __proto__: { admin: true } }, { constructor: { prototype: { polluted: 1 } } }];
  // Each field of an object schema replaced by values of the wrong type.
  if (spec instanceof z.ZodObject) {
    for (const key of Object.keys(spec.shape as Record<string, unknown>)) {
      for (const wrong of [{ nested: [1] }, 'not-a-number', 12345, null, ['a'], 'y'.repeat(1_000_000)]) base.push({ [key]: wrong });
    }
    base.push({ unexpectedField: 1 });
  }
  return base;
}

