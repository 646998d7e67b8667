/**
 * A business system's file, as bytes, to checked copies: decoded (`decode.ts`) and parsed
 * (`parse-copies.ts`, `fixed-length.ts`) in one step, so that the command and the tests take the same
 * path. Nothing here sends: the caller sends only a result without problems, so a file that does not
 * decode, or has any bad row, sends nothing.
 */
import type { LegalTable } from '../../../domain/legal-table/types.ts';
import { decodeTextFile, type Decoding, type EncodingOption } from './decode.ts';
import { parseFixedLength, type FixedLengthLayout } from './fixed-length.ts';
import { parseCopies, type ImportFormat, type ParsedCopies } from './parse-copies.ts';

export type CopiesFile =
  | { format: ImportFormat; encoding: EncodingOption }
  | { format: 'fixed-length'; encoding: EncodingOption; layout: FixedLengthLayout };

/** Errors: `ERR_ENCODING` (see `decode.ts`); bad rows are `problems`, not errors. */
export function readCopies(
  bytes: Uint8Array,
  file: CopiesFile,
  legalTable: LegalTable,
  on: Date,
): ParsedCopies & { decoding: Decoding } {
  if (file.format === 'fixed-length') {
    return parseFixedLength(bytes, file.layout, file.encoding, legalTable, on);
  }
  const decoded = decodeTextFile(bytes, file.encoding);
  const { text, ...decoding } = decoded;
  return { ...parseCopies(text, file.format, legalTable, on), decoding };
}
