/**
 * One party's log audited as a verifier finds it in the party's database: event rows, the stored tree,
 * and the signed heads as stored JWS strings. It checks each head's signature with the party's public
 * key (from its identity certificate) and then runs `auditLog` with the heads that verify. A head
 * whose signature fails is a finding of its own (someone wrote a head without the key, or the party's
 * key changed since: see README.md), never silently dropped.
 *
 * What it cannot know is what an event means: a node adds its own findings (the projection rows
 * against the events, the columns against the body) to the same list.
 */
import { RenkeiError } from '../../shared/errors.ts';
import { auditLog, type AuditLeaf, type Finding } from './audit.ts';
import type { MerkleStore } from './store.ts';
import { verifyTreeHead, type SignedTreeHead, type TreeHeadKey } from './tree-head.ts';

/** A finding about a party's records, in plain words, naming the log index or the record. */
export interface RecordFinding {
  readonly kind: string;
  readonly message: string;
  readonly index?: number;
  readonly processingNumber?: string;
}

export interface PartyHeads {
  /** Heads found in the party's database. */
  readonly stored: number;
  /** Heads whose signature checked and which the audit compared with the records. */
  readonly verified: number;
  /**
   * `signed`: heads checked with the party's key; `unsigned`: the party stored no head (it had no
   * signing key); `unchecked`: heads stored, but no key to check them with.
   */
  readonly status: 'signed' | 'unsigned' | 'unchecked';
}

export interface PartyAudit {
  /** Event rows read, purged ones included. */
  readonly events: number;
  readonly purged: number;
  readonly logSize: number;
  readonly heads: PartyHeads;
  readonly findings: RecordFinding[];
}

export interface PartyAuditInput {
  leaves: AsyncIterable<AuditLeaf> | Iterable<AuditLeaf>;
  store: MerkleStore;
  /** The heads as stored (compact JWS), with the size each row claims, to name a bad one. */
  storedHeads: readonly { treeSize: number; jws: string }[];
  /** The party's public key; without one, heads are counted but not used. */
  publicKey?: TreeHeadKey;
  purgeCutoff?: Date;
}

function fromAudit(f: Finding): RecordFinding {
  return 'index' in f
    ? { kind: f.kind, message: f.message, index: f.index }
    : { kind: f.kind, message: f.message };
}

/** Audits one party's log; never throws for what it finds. A store that fails rejects with its error. */
export async function auditPartyLog(input: PartyAuditInput): Promise<PartyAudit> {
  const findings: RecordFinding[] = [];
  const heads: SignedTreeHead[] = [];
  if (input.publicKey !== undefined) {
    for (const stored of input.storedHeads) {
      try {
        const head = await verifyTreeHead(stored.jws, input.publicKey);
        if (head.treeSize !== stored.treeSize) {
          findings.push({
            kind: 'head-row-mismatch',
            message: `The stored head row of size ${String(stored.treeSize)} holds a signed head of size ${String(head.treeSize)}: the row was edited.`,
          });
        }
        heads.push(head);
      } catch (error) {
        if (!(error instanceof RenkeiError)) throw error;
        findings.push({
          kind: 'head-signature-invalid',
          message: `The stored head of size ${String(stored.treeSize)} does not verify with the party's key (${String(error.details.reason)}): it was forged or edited, or signed with an earlier key.`,
        });
      }
    }
  }
  const report = await auditLog({
    leaves: input.leaves,
    store: input.store,
    heads,
    ...(input.purgeCutoff === undefined ? {} : { purgeCutoff: input.purgeCutoff }),
  });
  findings.push(...report.findings.map(fromAudit));
  const status =
    input.storedHeads.length === 0 ? 'unsigned' : input.publicKey === undefined ? 'unchecked' : 'signed';
  return {
    events: report.rows,
    purged: report.purged,
    logSize: report.storeSize,
    heads: { stored: input.storedHeads.length, verified: report.headsChecked, status },
    findings,
  };
}
