/**
 * What every party (the core, each intermediate server) does with its record log the same way:
 * signing tree heads on a schedule, and auditing its events against the log and the stored heads. The
 * party's own part is what its events mean (its schema and its projection rows), which it checks on
 * top of `auditRecordLog`'s findings.
 */
import type { Clock } from '../../shared/clock.ts';
import { recordLeaves, type StoredRecordEvent, type StoredTreeHead } from '../../shared/record-log.ts';
import { TreeHeadSigner } from './head-signer.ts';
import { createMerkleLog } from './log.ts';
import { auditPartyLog, type PartyAudit, type RecordFinding } from './party-audit.ts';
import type { MerkleStore } from './store.ts';
import type { TreeHeadKey } from './tree-head.ts';

/** The record-log side of a party's store (src/shared/record-log-tables.ts's `KyselyRecordLog`). */
export interface PartyLogStore {
  onRecordEvents(listener: (count: number) => void): void;
  merkleStore(): MerkleStore;
  saveTreeHead(head: StoredTreeHead): Promise<void>;
  listTreeHeads(): Promise<StoredTreeHead[]>;
  latestTreeHeadSize(): Promise<number>;
  listRecordEvents(after: number, limit: number): Promise<StoredRecordEvent[]>;
}

/** The key a party signs its tree heads with (its identity key) and the key id the heads name. */
export interface RecordLogSigner {
  key: TreeHeadKey;
  kid: string;
}

export interface HeadSigning {
  signer?: RecordLogSigner;
  /** Sign a head after this many events (default 100) and every `everyMs` (default 60 s) if it grew. */
  everyAppends?: number;
  everyMs?: number;
}

/**
 * Sign the party's heads as its log grows; undefined (said once in the log) when it has no key: the
 * log is then still kept and checked against its stored hashes, but nothing outside the database
 * vouches for it.
 */
export function scheduleHeadSigning(
  store: PartyLogStore,
  options: HeadSigning & {
    clock: Clock;
    logger: { warn(message: string): void; error(message: string): void };
  },
): TreeHeadSigner | undefined {
  const { signer, logger } = options;
  if (signer === undefined) {
    logger.warn('tree heads of the provision records are not signed: no signing key was given');
    return undefined;
  }
  const headSigner = new TreeHeadSigner({
    log: createMerkleLog({ store: store.merkleStore() }),
    key: signer.key,
    kid: signer.kid,
    clock: options.clock,
    save: (head) =>
      store.saveTreeHead({
        treeSize: head.treeSize,
        rootHash: head.rootHex,
        timestamp: head.timestamp,
        kid: head.kid,
        jws: head.jws,
      }),
    lastSignedSize: () => store.latestTreeHeadSize(),
    ...(options.everyAppends === undefined ? {} : { everyAppends: options.everyAppends }),
    ...(options.everyMs === undefined ? {} : { everyMs: options.everyMs }),
    onError: () => logger.error('signing a tree head failed; the next head covers the same records'),
  });
  store.onRecordEvents((count) => headSigner.appended(count));
  return headSigner;
}

/**
 * The party's events against its Merkle log and stored heads, with the findings about event rows
 * themselves (unreadable, not of the party's schema) first.
 */
export async function auditRecordLog(
  store: PartyLogStore,
  options: {
    /** Whether a parsed body is an event this party writes (its schema). */
    isEvent: (body: unknown) => boolean;
    /** The party's public key (from its identity certificate); without it, stored heads are not checked. */
    publicKey?: TreeHeadKey;
    /** Purged records younger than this are premature purges (now minus the retention period). */
    purgeCutoff?: Date;
  },
): Promise<PartyAudit> {
  const rowFindings: RecordFinding[] = [];
  const audit = await auditPartyLog({
    leaves: recordLeaves(
      (after, limit) => store.listRecordEvents(after, limit),
      (f) => rowFindings.push(f),
      options.isEvent,
    ),
    store: store.merkleStore(),
    storedHeads: await store.listTreeHeads(),
    ...(options.publicKey === undefined ? {} : { publicKey: options.publicKey }),
    ...(options.purgeCutoff === undefined ? {} : { purgeCutoff: options.purgeCutoff }),
  });
  return { ...audit, findings: [...rowFindings, ...audit.findings] };
}
