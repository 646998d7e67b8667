export {
  buildLegalTable,
  loadLegalTable,
  readLegalFiles,
  legalFilesDigest,
  legalTableFromFiles,
  DEFAULT_LEGAL_DIR,
  type LegalFiles,
  type LegalLoadOptions,
  type LegalSource,
} from './load.ts';
export { diffLegalTables, formatLegalTableDiff, isEmptyDiff, type LegalTableDiff } from './diff.ts';
export type * from './types.ts';
export { attachmentsReplacedBy, attachmentsVerdict, type AttachmentsVerdict } from './attachments.ts';
