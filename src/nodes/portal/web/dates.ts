/**
 * Dates as a resident reads them: the Japanese era (和暦) with the Western year beside it, in Japan's
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

/** A JST calendar day (`YYYY-MM-DD`) in the era with the Western year: `令和7年6月1日（2025年）`. */
export function japaneseDay(day: string): string {
  const date = new Date(`${day}T00:00:00+09:00`);
  return `${ERA.format(date)}（${day.slice(0, 4)}年）`;
}
