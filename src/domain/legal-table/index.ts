export { buildLegalTable, loadLegalTable, DEFAULT_LEGAL_DIR, type LegalSource } from './load.ts';
export type * from './types.ts';
export { attachmentsReplacedBy, attachmentsVerdict, type AttachmentsVerdict } from './attachments.ts';
