/**
 * Dates as a resident or a clerk reads them: the Japanese era (和暦) with the Western year beside it, in Japan's
 * time (the portal's residents are in Japan whatever the server's zone), e.g.
 * `令和8年11月27日（2026年）20:31`. Intl's Japanese calendar knows the eras, so 令和 and the next era
 * need no table here.
 */
const ERA = new Intl.DateTimeFormat('ja-JP-u-ca-japanese', {
  era: 'long',
  year: 'numeric',
  month: 'long',
  day: 'numeric',
  timeZone: 'Asia/Tokyo',
});
const PARTS = new Intl.DateTimeFormat('en-CA', {
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'Asia/Tokyo',
});

export function japaneseDateTime(date: Date): string {
  const parts = Object.fromEntries(PARTS.formatToParts(date).map((p) => [p.type, p.value]));
  return `${ERA.format(date)}（${parts.year ?? ''}年）${parts.hour ?? ''}:${parts.minute ?? ''}`;
}

/**
 * The day alone, in 和暦 with the Western year beside it: `令和8年11月27日（2026年）`, as due dates,
 * registration days and the data layouts' dates are read. A string is a calendar day
 * (`YYYY-MM-DD`, as layouts carry dates), read in Japan's time; any other string is returned as it is.
 */
export function japaneseDate(day: string | Date): string {
  if (day instanceof Date) {
    const parts = Object.fromEntries(PARTS.formatToParts(day).map((p) => [p.type, p.value]));
    return `${ERA.format(day)}（${parts.year ?? ''}年）`;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return day;
  const date = new Date(`${day}T12:00:00+09:00`);
  if (Number.isNaN(date.getTime())) return day;
  return `${ERA.format(date)}（${m[1]}年）`;
}

const WESTERN_DAY = new Intl.DateTimeFormat('en-GB', {
  year: 'numeric',
  month: 'long',
  day: 'numeric',
  timeZone: 'Asia/Tokyo',
});

/** The day in English: `27 November 2026` (Japan's time); a calendar day `YYYY-MM-DD` as it is. */
export function westernDate(day: string | Date): string {
  if (day instanceof Date) return WESTERN_DAY.format(day);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return day;
  const date = new Date(`${day}T12:00:00+09:00`);
  return Number.isNaN(date.getTime()) ? day : WESTERN_DAY.format(date);
}

/** The moment in English: `27 November 2026, 20:31 JST`. */
export function westernDateTime(date: Date): string {
  const parts = Object.fromEntries(PARTS.formatToParts(date).map((p) => [p.type, p.value]));
  return `${WESTERN_DAY.format(date)}, ${parts.hour ?? ''}:${parts.minute ?? ''} JST`;
}

/** A day as a reader of `lang` reads it: 和暦 with the Western year beside in Japanese, Western in English. */
export function dateIn(lang: 'ja' | 'en', day: string | Date): string {
  return lang === 'en' ? westernDate(day) : japaneseDate(day);
}

/** A moment as a reader of `lang` reads it (Japan's time). */
export function dateTimeIn(lang: 'ja' | 'en', date: Date): string {
  return lang === 'en' ? westernDateTime(date) : japaneseDateTime(date);
}
