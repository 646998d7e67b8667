/**
 * Canonical JSON in the manner of RFC 8785 (JSON Canonicalization Scheme): object members sorted by their
 * names' UTF-16 code units, no whitespace, strings and numbers serialised as ECMAScript's JSON.stringify
 * does (which is what RFC 8785 specifies), UTF-8 bytes. The core, the requester and the provider each hash
 * their record of an exchange; for the hashes to be comparable, the same record must give the same bytes in
 * every party, whatever order its code happened to build the object in.
 *
 * Stricter than JSON.stringify, on purpose, because a silent difference between parties is the failure
 * this exists to prevent: NaN and ±Infinity (which JSON.stringify turns into null), lone surrogates (which
 * RFC 8785 forbids), BigInt, functions, symbols, `undefined` in an array, and any object that is not a plain
 * object or an array (a Date, a Map, a class instance: JSON.stringify would call toJSON or drop fields) are
 * a TypeError. A member whose value is `undefined` is left out, as JSON.stringify does: that is how an
 * optional field is written in TypeScript, and omitting it is the only reading every party can agree on.
 * We considered a library (`canonicalize`), but it is not installed and this is forty lines.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function serialiseString(value: string): string {
  if (LONE_SURROGATE.test(value)) throw new TypeError('Canonical JSON has no lone surrogates in strings.');
  return JSON.stringify(value);
}

function serialise(value: unknown, depth: number): string {
  if (depth > 100) throw new TypeError('Canonical JSON nests at most 100 deep.');
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('Canonical JSON has no NaN or Infinity.');
      return JSON.stringify(value);
    case 'string':
      return serialiseString(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value
          .map((item: unknown) => {
            if (item === undefined) throw new TypeError('Canonical JSON has no undefined in arrays.');
            return serialise(item, depth + 1);
          })
          .join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError('Canonical JSON takes plain objects only (convert dates to strings first).');
      }
      const record = value as Record<string, unknown>;
      const members = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        // Default sort compares UTF-16 code units, which is RFC 8785 §3.2.3's order.
        .sort()
        .map((key) => `${serialiseString(key)}:${serialise(record[key], depth + 1)}`);
      return `{${members.join(',')}}`;
    }
    case 'undefined':
    case 'bigint':
    case 'function':
    case 'symbol':
      break;
  }
  throw new TypeError(`Canonical JSON has no ${typeof value}.`);
}

/** The canonical JSON text of `value`. Throws a TypeError for anything JSON cannot say exactly (see above). */
export function canonicalJson(value: unknown): string {
  return serialise(value, 0);
}

/** The UTF-8 bytes of `canonicalJson(value)`: a leaf of the Merkle log. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}
