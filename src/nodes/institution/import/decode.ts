/**
 * Turning a business system's file into text, refusing what does not decode cleanly. Japanese business
 * systems export Shift_JIS (in practice Windows' CP932) as often as UTF-8; reading such a file as UTF-8
 * gives mojibake that the layout check cannot see (it is still text), and that copy would then be
 * provided in answers. So a file is read in one encoding, declared or detected, and every line (or
 * fixed-length record) must decode cleanly in it, or the import is refused naming the line.
 *
 * "Cleanly" means: no byte sequence that the encoding does not define (iconv-lite and TextDecoder both
 * turn those into U+FFFD, so U+FFFD anywhere is refused — in a UTF-8 file it means an earlier
 * conversion already lost characters); no C1 control character (CP932's byte 0x80 decodes to U+0080);
 * no private-use character (CP932's user-defined area 0xF040–0xF9FC, 外字, means something only in the
 * system that defined it); and, for CP932, the text re-encodes to text that decodes the same. We
 * considered comparing the re-encoded bytes with the original, but CP932 has duplicate codes for some
 * characters (the NEC-selected IBM extensions, rows 89–92, e.g. 髙 at 0xEEE0 and 0xFBFC): a file from a
 * system that writes the NEC codes would be refused although nothing is lost. Comparing the text
 * catches every character iconv-lite could not encode back, which is what a lossy decode looks like.
 * With iconv-lite 0.7.3 it catches nothing the character checks miss (tried on all 65,536 two-byte
 * sequences); it stays as a cheap guard should a later mapping table decode to something it cannot
 * encode back.
 *
 * Lines are split on the byte 0x0A before decoding: neither UTF-8 nor Shift_JIS uses it inside a
 * character (Shift_JIS trail bytes are 0x40–0xFC), so the split is safe in both.
 */
import iconv from 'iconv-lite';
import { RenkeiError } from '../../../shared/errors.ts';

/** What `--encoding` accepts. `cp932` is `shift_jis`: business systems' "Shift_JIS" is CP932. */
export const ENCODING_OPTIONS = ['auto', 'utf-8', 'utf-8-bom', 'shift_jis', 'cp932'] as const;
export type EncodingOption = (typeof ENCODING_OPTIONS)[number];

/** The encodings a file can be read in. */
export type TextEncoding = 'utf-8' | 'shift_jis';

export interface Decoding {
  encoding: TextEncoding;
  /** The file started with a UTF-8 byte-order mark (dropped from the text). */
  bom: boolean;
  /** The encoding was detected (`auto`), not declared. */
  detected: boolean;
}

export function isEncodingOption(value: string): value is EncodingOption {
  return (ENCODING_OPTIONS as readonly string[]).includes(value);
}

/** How a person names the encoding: `UTF-8`, `UTF-8 with BOM`, `Shift_JIS (CP932)`. */
export function describeEncoding(decoding: Pick<Decoding, 'encoding' | 'bom'>): string {
  if (decoding.encoding === 'shift_jis') return 'Shift_JIS (CP932)';
  return decoding.bom ? 'UTF-8 with BOM' : 'UTF-8';
}

const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;

export function hasUtf8Bom(bytes: Uint8Array): boolean {
  return bytes[0] === UTF8_BOM[0] && bytes[1] === UTF8_BOM[1] && bytes[2] === UTF8_BOM[2];
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** U+FFFD, C1 controls, private-use characters: see the module comment. */
const UNCLEAN = /[\uFFFD\u0080-\u009F\uE000-\uF8FF]/;

/** The text of `bytes`, or undefined if they do not decode cleanly in `encoding`. */
export function decodeClean(bytes: Uint8Array, encoding: TextEncoding): string | undefined {
  let text: string;
  if (encoding === 'utf-8') {
    try {
      text = utf8.decode(bytes);
    } catch {
      return undefined;
    }
  } else {
    text = iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'cp932');
    if (UNCLEAN.test(text)) return undefined;
    return iconv.decode(iconv.encode(text, 'cp932'), 'cp932') === text ? text : undefined;
  }
  return UNCLEAN.test(text) ? undefined : text;
}

/** The pieces of `bytes` between 0x0A bytes, each keeping its CR if the line ended CRLF. */
export function splitLines(bytes: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (;;) {
    const end = bytes.indexOf(0x0a, start);
    if (end === -1) break;
    lines.push(bytes.subarray(start, end));
    start = end + 1;
  }
  if (start < bytes.length) lines.push(bytes.subarray(start));
  return lines;
}

/** The 1-based position of the first piece that does not decode cleanly, or undefined. */
function firstUnclean(pieces: Iterable<Uint8Array>, encoding: TextEncoding): number | undefined {
  let position = 0;
  for (const piece of pieces) {
    position++;
    if (decodeClean(piece, encoding) === undefined) return position;
  }
  return undefined;
}

/**
 * Decide how to read a file whose `pieces` (lines, or fixed-length records) must each decode cleanly;
 * `unit` names a piece in messages ("line", "record") and `numberOf` turns a piece's position (from 1)
 * into the number the file gives it (records skipped before decoding keep their numbers);
 * `wholeIsClean`, when the pieces make up one buffer, says whether that buffer decodes cleanly.
 * Declared: every piece must decode in it. `auto`: a UTF-8 BOM means UTF-8; otherwise UTF-8 if every piece decodes as UTF-8, else Shift_JIS
 * (CP932) if every piece decodes as that.
 *
 * Errors: `ERR_ENCODING` with `details.line` (the piece, from 1) and `details.encoding` (what was
 * tried, or `auto`). The message names the piece and what to do, never its content.
 */
export function chooseEncoding(
  pieces: () => Iterable<Uint8Array>,
  option: EncodingOption,
  bom: boolean,
  unit: string,
  numberOf: (position: number) => number = (position) => position,
  wholeIsClean?: (encoding: TextEncoding) => boolean,
): Decoding {
  // Decoding piece by piece is slow (iconv-lite has a cost per call); when the pieces make up one
  // buffer, one clean decode of it says every piece is clean, and only a failure needs the pieces.
  const firstBad = (encoding: TextEncoding) =>
    wholeIsClean?.(encoding) === true ? undefined : firstUnclean(pieces(), encoding);
  if (option === 'utf-8-bom' && !bom) {
    throw new RenkeiError(
      'ERR_ENCODING',
      'The file does not start with a UTF-8 byte-order mark; give --encoding utf-8 (or auto) if it is UTF-8 without one.',
      { line: 1, encoding: option },
    );
  }
  if (option !== 'auto' || bom) {
    const encoding: TextEncoding = option === 'shift_jis' || option === 'cp932' ? 'shift_jis' : 'utf-8';
    if (bom && encoding === 'shift_jis') {
      throw new RenkeiError(
        'ERR_ENCODING',
        'The file starts with a UTF-8 byte-order mark, so it is not Shift_JIS; give --encoding utf-8-bom (or auto).',
        { line: 1, encoding },
      );
    }
    const position = firstBad(encoding);
    if (position !== undefined) {
      const bad = numberOf(position);
      const other = encoding === 'utf-8' ? 'shift_jis' : 'utf-8';
      throw new RenkeiError(
        'ERR_ENCODING',
        `${capital(unit)} ${bad} is not valid ${describeEncoding({ encoding, bom })}. ` +
          `Check the export's encoding and give --encoding ${other} (or auto) if the file is in that one, ` +
          `or correct the ${unit} in the business system and export again.`,
        { line: bad, encoding: option },
      );
    }
    if (encoding === 'shift_jis') {
      // Much UTF-8 text also decodes as CP932, to mojibake (新宿 → 譁ｰ螳ｿ); Shift_JIS text with any
      // full-width character practically never is valid UTF-8. So a file that is UTF-8 beyond ASCII
      // was declared wrongly, and reading it as declared would store garbled copies.
      const nonAscii = firstNonAscii(pieces());
      if (nonAscii !== undefined && firstBad('utf-8') === undefined) {
        const line = numberOf(nonAscii);
        throw new RenkeiError(
          'ERR_ENCODING',
          `The file was declared Shift_JIS but is UTF-8 (${unit} ${line} is the first with a character ` +
            'beyond ASCII, and it decodes as UTF-8); give --encoding utf-8 (or auto).',
          { line, encoding: option },
        );
      }
    }
    return { encoding, bom, detected: option === 'auto' };
  }
  const utf8Position = firstBad('utf-8');
  if (utf8Position === undefined) return { encoding: 'utf-8', bom: false, detected: true };
  const shiftJisPosition = firstBad('shift_jis');
  if (shiftJisPosition === undefined) return { encoding: 'shift_jis', bom: false, detected: true };
  const notUtf8 = numberOf(utf8Position);
  const notShiftJis = numberOf(shiftJisPosition);
  // The encoding that gets further is the likelier one; name its failing piece first.
  const line = Math.max(notUtf8, notShiftJis);
  throw new RenkeiError(
    'ERR_ENCODING',
    `The file decodes cleanly neither as UTF-8 (${unit} ${notUtf8} does not) nor as Shift_JIS (CP932) ` +
      `(${unit} ${notShiftJis} does not). It may mix encodings, hold bytes of ` +
      'another encoding, or use user-defined characters (外字). Export it again as UTF-8 or Shift_JIS, ' +
      'or give --encoding to have the lines that do not fit it named.',
    { line, encoding: option, utf8Line: notUtf8, shiftJisLine: notShiftJis },
  );
}

/**
 * The text of a CSV or JSON file: the encoding chosen as `chooseEncoding` says (lines are the pieces),
 * then the whole file decoded once, the BOM dropped. Errors: `ERR_ENCODING` (see `chooseEncoding`).
 */
export function decodeTextFile(bytes: Uint8Array, option: EncodingOption): Decoding & { text: string } {
  const bom = hasUtf8Bom(bytes);
  const body = bom ? bytes.subarray(UTF8_BOM.length) : bytes;
  // A line never holds part of a character across 0x0A (see the module comment), so the whole body
  // decodes cleanly exactly when every line does.
  const decoded = new Map<TextEncoding, string | undefined>();
  const whole = (encoding: TextEncoding) => {
    if (!decoded.has(encoding)) decoded.set(encoding, decodeClean(body, encoding));
    return decoded.get(encoding);
  };
  const decoding = chooseEncoding(
    () => splitLines(body),
    option,
    bom,
    'line',
    undefined,
    (encoding) => whole(encoding) !== undefined,
  );
  const text = whole(decoding.encoding);
  // Every line decoded cleanly, so the whole does; this guards the reasoning, not the input.
  if (text === undefined) throw new Error('a file whose lines decode cleanly did not decode as a whole');
  return { ...decoding, text };
}

function firstNonAscii(pieces: Iterable<Uint8Array>): number | undefined {
  let position = 0;
  for (const piece of pieces) {
    position++;
    if (piece.some((byte) => byte >= 0x80)) return position;
  }
  return undefined;
}

function capital(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
