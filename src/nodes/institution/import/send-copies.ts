import type { Client } from '../../../protocol/api.ts';
import type { businessApi } from '../../../protocol/routes.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { ParsedCopies } from './parse-copies.ts';

/** The largest batch the import sends in one request (the endpoint accepts up to 10,000). */
export const MAX_IMPORT_BATCH = 5_000;

export interface SendResult {
  written: number;
  batches: number;
}

/**
 * Send parsed copies to an institution's `POST /business/v1/copies:batch`, `batchSize` at a time.
 * Each batch is all-or-nothing on the server; batches sent before a failing one stay written.
 *
 * Errors: the server's, e.g. `ERR_IMPORT_INVALID` with `details.rows` rewritten to the file's rows
 * (`{row, code, message}`) and `details.written` (copies written by earlier batches);
 * `ERR_UPSTREAM_UNAVAILABLE`.
 */
export async function sendCopies(
  client: Pick<Client<typeof businessApi>, 'putCopies'>,
  parsed: Pick<ParsedCopies, 'copies' | 'rows'>,
  options: { batchSize?: number; onBatch?: (sent: number) => void } = {},
): Promise<SendResult> {
  const batchSize = options.batchSize ?? MAX_IMPORT_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_IMPORT_BATCH) {
    throw new TypeError(`batchSize must be a whole number from 1 to ${MAX_IMPORT_BATCH}`);
  }
  let written = 0;
  let batches = 0;
  for (let start = 0; start < parsed.copies.length; start += batchSize) {
    const copies = parsed.copies.slice(start, start + batchSize);
    try {
      const result = await client.putCopies({ body: { copies } });
      written += result.written;
      batches++;
    } catch (error) {
      if (error instanceof RenkeiError && Array.isArray(error.details.rows)) {
        const rows = (error.details.rows as { index: number; code: string; message: string }[]).map((r) => ({
          row: parsed.rows[start + r.index] ?? start + r.index + 1,
          code: r.code,
          message: r.message,
        }));
        throw new RenkeiError(error.code, error.message, { rows, written });
      }
      if (error instanceof RenkeiError)
        throw new RenkeiError(error.code, error.message, { ...error.details, written });
      throw error;
    }
    options.onBatch?.(copies.length);
  }
  return { written, batches };
}
