/**
 * A data standard layout version (データ標準レイアウト) as a zod schema, built once when the table is
 * loaded, and the problems it finds as `path: message` strings that never repeat the rejected value:
 * an answer carries personal information, and a problem list ends up in records and logs.
 */
import { z } from 'zod';
import type { LayoutField } from './types.ts';

/**
 * A strict object: a field the layout does not define is rejected (a provider sending more than the
 * layout allows is a leak, not a detail); dates are `YYYY-MM-DD`; enums take their listed values only.
 */
export function layoutSchema(fields: readonly LayoutField[]): z.ZodType {
  const shape: Record<string, z.ZodType> = {};
  for (const field of fields) {
    const schema = fieldSchema(field);
    shape[field.name] = field.required ? schema : schema.optional();
  }
  return z.object(shape).strict();
}

function fieldSchema(field: LayoutField): z.ZodType {
  switch (field.type) {
    case 'string': {
      const s = z.string();
      return field.maxLength === undefined ? s : s.max(field.maxLength);
    }
    case 'integer': {
      let n = z.number().int();
      if (field.min !== undefined) n = n.min(field.min);
      if (field.max !== undefined) n = n.max(field.max);
      return n;
    }
    case 'boolean':
      return z.boolean();
    case 'date':
      return z.iso.date();
    case 'enum':
      // The loader refuses an enum without values before it gets here.
      return z.enum((field.values ?? ['']) as [string, ...string[]]);
  }
}

/** `path: message` for each problem; zod's messages name the expectation, not the value received. */
export function layoutProblems(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const where = i.path.join('.') || '(record)';
    // zod says "expected number, received undefined" for a missing field; a clerk reads "required".
    if (i.code === 'invalid_type' && i.message.endsWith('received undefined')) {
      return `${where}: is required (${i.expected})`;
    }
    return `${where}: ${i.message}`;
  });
}
