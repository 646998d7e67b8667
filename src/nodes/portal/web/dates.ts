/** The portal's dates: 和暦 with the Western year (shared with the consoles: shared/web/dates.ts). */
export { japaneseDate, japaneseDateTime } from '../../../shared/web/dates.ts';
