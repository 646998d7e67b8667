/**
 * JSON from an untrusted peer, refused when nested deeper than a bound.
 *
 * `JSON.parse` itself copes with any depth, but whatever walks the result recursively afterwards
 * (zod, `JSON.stringify`, a logger's redaction) overflows the stack on a body nested 50,000 deep and
 * turns an attack into a 500. Checking the depth once, iteratively, right after parsing lets every
 * later step assume a shallow value. Our messages nest at most five levels (`msg.items[].data.…`).
 */

/** Deeper than any message of the protocol, far shallower than what overflows a recursive walk. */
export const MAX_JSON_DEPTH = 32;

/** The parsed value, or undefined when `text` is not JSON or nests deeper than `maxDepth`. */
export function parseBoundedJson(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return nestsWithin(value, maxDepth) ? value : undefined;
}

/** Whether a parsed JSON value nests no deeper than `maxDepth` objects and arrays. */
export function nestsWithin(root: unknown, maxDepth = MAX_JSON_DEPTH): boolean {
  const pending: Array<[value: unknown, depth: number]> = [[root, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, depth] = next;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= maxDepth) return false;
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
  return true;
}
