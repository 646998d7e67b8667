/** The portal's dates: 和暦 with the Western year in Japanese, Western in English (shared/web/dates.ts). */
export { dateIn, dateTimeIn, japaneseDate, japaneseDateTime } from '../../../shared/web/dates.ts';
