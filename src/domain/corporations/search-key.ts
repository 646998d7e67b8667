/**
 * The form a corporation's name is searched in: partial and kana-insensitive, as the NTA's site
 * searches. `ﾄﾖﾀ`, `トヨタ`, `とよた` and `ＴＯＹＯＴＡ`/`toyota` each find トヨタ自動車株式会社 or a
 * Toyota with its name in Latin letters.
 *
 * NFKC first (full-width Latin and digits to ASCII, half-width katakana to full-width), then katakana
 * to hiragana (the Unicode blocks are 0x60 apart), lower case, and spaces and the middle dot dropped
 * (names are written with and without them). Kanji stay as they are: a reading is searched through
 * the フリガナ, which goes through the same key.
 */
export function searchKey(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u30a1-\u30f6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60))
    .toLowerCase()
    .replace(/[\s\u30fb\u00b7]/gu, '');
}
