/** The Merkle log of provision records: what the nodes, the CLI and verifiers import. See README.md. */
export { canonicalJson, canonicalJsonBytes } from './canonical-json.ts';
export { HASH_SIZE, emptyRoot, fromHex, hashesEqual, leafHash, nodeHash, toHex } from './hash.ts';
export type { MerkleLog, MerkleLogDeps } from './log.ts';
export { createMerkleLog } from './log.ts';
export type { MemoryMerkleStore } from './memory-store.ts';
export { createMemoryMerkleStore } from './memory-store.ts';
export type { MerkleNode, MerkleStore } from './store.ts';
export type { NodeKey } from './tree-shape.ts';
export type { SignedTreeHead, TreeHead, TreeHeadKey } from './tree-head.ts';
export { TREE_HEAD_TYPE, signTreeHead, verifyTreeHead } from './tree-head.ts';
export { verifyConsistency, verifyInclusion } from './verify.ts';
export type { EvidenceLeaf, EvidenceVerdict, PublicJwk, RecordEvidence, WebTreeHead } from './web-verify.ts';
export { verifyInclusionWeb, verifyRecordEvidence, verifyTreeHeadWeb } from './web-verify.ts';
export type { AuditInput, AuditLeaf, AuditReport, Finding, FindingKind } from './audit.ts';
export { auditLog } from './audit.ts';
export type { HeadToSave, TreeHeadSignerOptions } from './head-signer.ts';
export { TreeHeadSigner } from './head-signer.ts';
export type { PartyAudit, PartyAuditInput, PartyHeads, RecordFinding } from './party-audit.ts';
export { auditPartyLog } from './party-audit.ts';
export {
  auditRecordLog,
  scheduleHeadSigning,
  type HeadSigning,
  type PartyLogStore,
  type RecordLogSigner,
} from './party-log.ts';
export {
  AUDIT_PAGE,
  PartyRecordLog,
  checkRecords,
  eventParser,
  outOfSequence,
  pages,
  type LoggedRecord,
  type ProjectionCheck,
  type RecordKind,
  type VerifyOptions,
} from './projection-audit.ts';
