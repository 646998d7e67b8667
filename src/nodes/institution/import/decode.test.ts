import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { RenkeiError } from '../../../shared/errors.ts';
import { decodeClean, decodeTextFile, type EncodingOption } from './decode.ts';

const TEXT = 'addresseeNumber,itemNo,municipality\r\nA1,2,新宿区\r\nA2,2,髙橋ハイツ①号\r\n';
const sjis = (text: string) => iconv.encode(text, 'cp932');
const utf8 = (text: string) => Buffer.from(text, 'utf8');
const withBom = (text: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(text)]);

function refusal(bytes: Uint8Array, option: EncodingOption): RenkeiError {
  try {
    decodeTextFile(bytes, option);
  } catch (error) {
    if (error instanceof RenkeiError) return error;
    throw error;
  }
  throw new Error('expected the file to be refused');
}

describe('reading a file in its encoding', () => {
  it('detects Shift_JIS, UTF-8 and UTF-8 with BOM, and reads each to the same text', () => {
    const read = [sjis(TEXT), utf8(TEXT), withBom(TEXT)].map((bytes) => decodeTextFile(bytes, 'auto'));
    expect(read.map((r) => [r.encoding, r.bom, r.detected])).toEqual([
      ['shift_jis', false, true],
      ['utf-8', false, true],
      ['utf-8', true, true],
    ]);
    for (const r of read) expect(r.text).toBe(TEXT);
  });

  it('reads a declared encoding, cp932 being shift_jis', () => {
    expect(decodeTextFile(sjis(TEXT), 'cp932')).toMatchObject({ encoding: 'shift_jis', detected: false });
    expect(decodeTextFile(sjis(TEXT), 'shift_jis').text).toBe(TEXT);
    expect(decodeTextFile(withBom(TEXT), 'utf-8-bom').text).toBe(TEXT);
    expect(decodeTextFile(withBom(TEXT), 'utf-8').text).toBe(TEXT);
  });

  it('refuses Shift_JIS declared as UTF-8, naming the first line that is not UTF-8 and not its content', () => {
    const error = refusal(sjis('addresseeNumber,itemNo,municipality\nA1,2,x\nA2,2,新宿区\n'), 'utf-8');
    expect(error.code).toBe('ERR_ENCODING');
    expect(error.details).toMatchObject({ line: 3 });
    expect(error.message).toMatch(/^Line 3 is not valid UTF-8\./);
    expect(error.message).toContain('--encoding shift_jis');
  });

  it('refuses UTF-8 declared as Shift_JIS rather than storing mojibake', () => {
    // 新宿区 in UTF-8 decodes cleanly as CP932, to 譁ｰ螳ｿ蛹ｺ: only seeing that it is UTF-8 catches it.
    expect(decodeClean(utf8('新宿区'), 'shift_jis')).toBe('譁ｰ螳ｿ蛹ｺ');
    const error = refusal(utf8('a\nb\n新宿区\n'), 'shift_jis');
    expect(error.code).toBe('ERR_ENCODING');
    expect(error.details).toMatchObject({ line: 3 });
    expect(error.message).toContain('--encoding utf-8');
  });

  it('refuses a file with an invalid byte sequence on row 4, whatever it is declared as', () => {
    const bytes = Buffer.concat([
      sjis('addresseeNumber,itemNo,municipality\nA1,2,新宿区\nA2,2,三条市\nA3,2,'),
      Buffer.from([0x82, 0x0d]), // a lead byte with no trail byte
      sjis('\nA4,2,横浜市\n'),
    ]);
    for (const option of ['auto', 'shift_jis', 'cp932'] as const) {
      const error = refusal(bytes, option);
      expect(error.code).toBe('ERR_ENCODING');
      expect(error.details.line).toBe(4);
      expect(error.message).not.toMatch(/新宿|三条|A3/);
    }
    expect(refusal(bytes, 'auto').message).toMatch(
      /neither as UTF-8 \(line 2 .*\) nor as Shift_JIS \(CP932\) \(line 4 /,
    );
  });

  it('refuses user-defined characters (外字), C1 bytes and replacement characters as not clean', () => {
    expect(decodeClean(Buffer.from([0xf0, 0x40]), 'shift_jis')).toBeUndefined(); // 外字 → U+E000
    expect(decodeClean(Buffer.from([0x41, 0x80]), 'shift_jis')).toBeUndefined(); // → U+0080
    expect(decodeClean(Buffer.from([0x85, 0x40]), 'shift_jis')).toBeUndefined(); // unassigned row
    expect(decodeClean(utf8('a\uFFFDb'), 'utf-8')).toBeUndefined(); // garbled before it reached us
    expect(decodeClean(utf8('a\uE000'), 'utf-8')).toBeUndefined();
  });

  it("accepts CP932's duplicate codes for the same character (NEC-selected IBM extensions)", () => {
    // 髙 is 0xEEE0 (NEC-selected) and 0xFBFC (IBM); iconv-lite encodes it back as 0xFBFC. Nothing is
    // lost, so a byte-for-byte comparison would refuse a good file.
    expect(decodeClean(Buffer.from([0xee, 0xe0]), 'shift_jis')).toBe('髙');
    expect(decodeClean(Buffer.from([0xfb, 0xfc]), 'shift_jis')).toBe('髙');
  });

  it('refuses utf-8-bom without a BOM, and a BOM declared as Shift_JIS', () => {
    expect(refusal(utf8(TEXT), 'utf-8-bom').message).toContain('--encoding utf-8');
    expect(refusal(withBom(TEXT), 'shift_jis').code).toBe('ERR_ENCODING');
  });
});
