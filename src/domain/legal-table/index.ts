export { buildLegalTable, loadLegalTable, DEFAULT_LEGAL_DIR, type LegalSource } from './load.ts';
export type * from './types.ts';
