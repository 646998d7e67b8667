/**
 * One exchange as the core recorded it, compared with the requester's and the provider's records of
 * it: what `renkei records verify` runs over every party's database (src/network/records.ts) and the
 * oversight console's cross-check runs over what each institution answers the core
 * (`networkApi.checkRecords`, service/record-checks.ts). Findings name the party whose record
 * disagrees with the core's.
 */
import type { ProviderExchange, RequesterExchange } from '../../../protocol/record-checks.ts';
import type { RecordFinding } from '../../../trust/merkle/index.ts';
import type { CoreExchange } from '../record-events.ts';

/**
 * What a page needs to say a finding in its own language (the `message` is English, for the CLI and
 * the log): the kind names what is wrong, these fields the particulars.
 */
export interface FindingDetail {
  /** Whose record: the requester's (an inquiry) or the provider's (a provision). */
  readonly role?: 'requester' | 'provider';
  /** The fields in which the party's record differs: requester, provider, clause, procedure, items. */
  readonly fields?: readonly string[];
  readonly partyOutcome?: string;
  readonly coreOutcome?: string;
  /** The core delivered the answer to the requester. */
  readonly delivered?: boolean;
  /** How many times the provider answered. */
  readonly answers?: number;
  /** A tree head's size, and the size of the head kept before it. */
  readonly treeSize?: number;
  readonly earlierSize?: number;
  /** The core has the exchange, but with another party in this role (`exchange-unknown-at-core`). */
  readonly atCore?: boolean;
}

/**
 * A finding with the party it concerns. Kinds: `exchange-missing`, `exchange-disagrees`,
 * `exchange-outcome-disagrees`, `exchange-provided-though-refused` (here), `exchange-unknown-at-core`
 * (a record the core has none of: service/record-checks.ts, src/network/records.ts), `head-signature-invalid`,
 * `certificate-untrusted`, the head's key refused (`head-key-unknown`, `head-outside-validity`,
 * `head-after-revocation`, `head-key-compromised`: src/trust/pki/party-key.ts) and the head's history
 * (`head-missing`, `head-tree-shrank`, `head-inconsistent`, `head-proof-missing`: head-history.ts).
 */
export type ExchangeFinding = RecordFinding & { readonly party: string; readonly detail?: FindingDetail };

const sameList = (a: readonly number[] | undefined, b: readonly number[]) =>
  a === undefined || JSON.stringify(a) === JSON.stringify(b);

/** Fields in which a party's record of an exchange differs from the core's. */
function differing(
  core: CoreExchange,
  other: {
    providerId?: string;
    requesterId?: string;
    clauseNo?: string;
    procedureId?: string;
    itemNos?: number[];
  },
): string[] {
  const out: string[] = [];
  if (other.requesterId !== undefined && other.requesterId !== core.requesterId) out.push('requester');
  if (other.providerId !== undefined && other.providerId !== core.providerId) out.push('provider');
  if (other.clauseNo !== undefined && other.clauseNo !== core.clauseNo) out.push('clause');
  if (other.procedureId !== undefined && other.procedureId !== core.procedureId) out.push('procedure');
  if (!sameList(other.itemNos, core.itemNos)) out.push('items');
  return out;
}

/** The requester's record of an exchange against the core's; findings name the requester. */
export function compareRequester(c: CoreExchange, r: RequesterExchange | undefined): ExchangeFinding[] {
  const pn = c.processingNumber;
  const party = c.requesterId;
  if (r === undefined) {
    return [
      {
        party,
        kind: 'exchange-missing',
        processingNumber: pn,
        detail: { role: 'requester' },
        message: `The core recorded inquiry ${pn} from ${party}, but ${party} has no record of it.`,
      },
    ];
  }
  const findings: ExchangeFinding[] = [];
  const fields = differing(c, r);
  if (fields.length > 0) {
    findings.push({
      party,
      kind: 'exchange-disagrees',
      processingNumber: pn,
      detail: { role: 'requester', fields },
      message: `${party}'s record of inquiry ${pn} differs from the core's in ${fields.join(', ')}.`,
    });
  }
  const expected =
    c.outcome === 'refused' || c.outcome === 'pending' || c.delivery === 'delivered'
      ? [c.outcome]
      : ['pending', c.outcome];
  // A delivery the core ended failed (the kept answer expired unacknowledged): the requester, whose
  // fetch is then answered ERR_ANSWER_GONE, records the inquiry failed with that code.
  const gone = c.delivery === 'failed' && r.outcome === 'failed' && r.reason === 'ERR_ANSWER_GONE';
  if (!expected.includes(r.outcome) && !gone) {
    findings.push({
      party,
      kind: 'exchange-outcome-disagrees',
      processingNumber: pn,
      detail: {
        role: 'requester',
        partyOutcome: r.outcome,
        coreOutcome: c.outcome,
        delivered: c.delivery === 'delivered',
      },
      message: `${party} recorded inquiry ${pn} as ${r.outcome}; the core recorded ${c.outcome}${c.delivery === 'delivered' ? ', delivered' : ''}.`,
    });
  }
  return findings;
}

/** The provider's record of an exchange against the core's; findings name the provider. */
export function compareProvider(c: CoreExchange, p: ProviderExchange | undefined): ExchangeFinding[] {
  const pn = c.processingNumber;
  const party = c.providerId;
  if (c.outcome === 'refused') {
    return p === undefined
      ? []
      : [
          {
            party,
            kind: 'exchange-provided-though-refused',
            processingNumber: pn,
            detail: { role: 'provider', partyOutcome: p.outcome, coreOutcome: 'refused' },
            message: `${party} recorded a provision for ${pn}, which the core refused and never forwarded.`,
          },
        ];
  }
  if (c.outcome === 'failed') {
    // It may never have arrived; if it did, the core told the provider (a notice sent until
    // acknowledged), which then records failed too, whatever it had answered.
    return p === undefined || p.outcome === 'failed'
      ? []
      : [
          {
            party,
            kind: 'exchange-outcome-disagrees',
            processingNumber: pn,
            detail: { role: 'provider', partyOutcome: p.outcome, coreOutcome: 'failed' },
            message: `${party} recorded provision ${pn} as ${p.outcome}; the core recorded failed (until the core's notice reaches ${party}).`,
          },
        ];
  }
  if (c.outcome !== 'provided' && c.outcome !== 'not_held') return []; // pending
  if (p === undefined) {
    return [
      {
        party,
        kind: 'exchange-missing',
        processingNumber: pn,
        detail: { role: 'provider', coreOutcome: c.outcome },
        message: `The core recorded ${pn} as ${c.outcome} by ${party}, but ${party} has no record of it.`,
      },
    ];
  }
  const findings: ExchangeFinding[] = [];
  const fields = differing(c, p);
  if (fields.length > 0) {
    findings.push({
      party,
      kind: 'exchange-disagrees',
      processingNumber: pn,
      detail: { role: 'provider', fields },
      message: `${party}'s record of provision ${pn} differs from the core's in ${fields.join(', ')}.`,
    });
  }
  if (p.outcome !== c.outcome) {
    findings.push({
      party,
      kind: 'exchange-outcome-disagrees',
      processingNumber: pn,
      detail: { role: 'provider', partyOutcome: p.outcome, coreOutcome: c.outcome, answers: p.answers },
      message: `${party} recorded provision ${pn} as ${p.outcome}${p.answers > 1 ? ` (answered ${String(p.answers)} times)` : ''}; the core recorded ${c.outcome}.`,
    });
  }
  return findings;
}

/**
 * A party's own records, by processing number and role, that the core has no exchange of with that
 * party in that role (`exchange-unknown-at-core`): recorded there and not at the core, or recorded
 * at the core with another party. `atCore` holds the core's exchanges of those numbers that it has.
 */
export function unknownAtCore(
  party: string,
  role: 'requester' | 'provider',
  processingNumbers: readonly string[],
  atCore: ReadonlyMap<string, CoreExchange>,
): ExchangeFinding[] {
  const findings: ExchangeFinding[] = [];
  for (const processingNumber of processingNumbers) {
    const c = atCore.get(processingNumber);
    if (c !== undefined && (role === 'requester' ? c.requesterId : c.providerId) === party) continue;
    findings.push({
      party,
      kind: 'exchange-unknown-at-core',
      processingNumber,
      message:
        role === 'requester'
          ? `${party} recorded inquiry ${processingNumber}, which the core has no record of${c ? ` from ${party}` : ''}.`
          : `${party} recorded a provision for ${processingNumber}, which the core never sent ${c ? 'to it' : 'to anyone'}.`,
      detail: { role, atCore: c !== undefined },
    });
  }
  return findings;
}
