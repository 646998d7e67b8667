/**
 * The legal table's decision on one inquiry (the core's hot path: thousands a second). Everything
 * it consults is indexed once when the table is built; deciding is a few map and set look-ups, no
 * parsing, no scanning of clauses.
 *
 * The checks run from the broadest to the narrowest, so the reason given is the one a clerk fixes
 * first: the clause (exists, in force), the procedure (exists, under that clause, in force), who asks,
 * whom they ask, then the items (at least one; each defined, allowed from that provider, asked for by
 * the procedure). An inquiry for no item is refused, not allowed vacuously: the wire schema requires
 * one, but the decision fails closed on its own.
 */
import type { ClauseNo, InstitutionId, ItemNo, ProcedureId } from '../../protocol/identifiers.ts';
import { jstDate } from '../../shared/clock.ts';
import type {
  Authorization,
  Clause,
  InquiryToAuthorize,
  InstitutionSelector,
  Procedure,
  RefusalRule,
} from './types.ts';

/** A decision function over indexes built once from the validated table. */
export type Authorizer = (inquiry: InquiryToAuthorize) => Authorization;

interface ClauseIndex {
  clause: Clause;
  requesterKinds: ReadonlySet<string>;
  requesterIds: ReadonlySet<InstitutionId>;
  /** The items a provider of a kind, or a named provider, may give under this clause. */
  itemsByProviderKind: ReadonlyMap<string, ReadonlySet<ItemNo>>;
  itemsByProviderId: ReadonlyMap<InstitutionId, ReadonlySet<ItemNo>>;
}

interface ProcedureIndex {
  procedure: Procedure;
  itemNos: ReadonlySet<ItemNo>;
}

export function buildAuthorizer(
  clauses: readonly Clause[],
  procedures: readonly Procedure[],
  itemNos: Iterable<ItemNo>,
): Authorizer {
  const clauseIndex = new Map<ClauseNo, ClauseIndex>(clauses.map((c) => [c.clauseNo, indexClause(c)]));
  const procedureIndex = new Map<ProcedureId, ProcedureIndex>(
    procedures.map((p) => [p.procedureId, { procedure: p, itemNos: new Set(p.itemNos) }]),
  );
  const knownItems = new Set(itemNos);
  return (inquiry) => authorize(inquiry, clauseIndex, procedureIndex, knownItems);
}

function indexClause(clause: Clause): ClauseIndex {
  const itemsByProviderKind = new Map<string, Set<ItemNo>>();
  const itemsByProviderId = new Map<InstitutionId, Set<ItemNo>>();
  for (const provision of clause.provisions) {
    for (const kind of provision.provider.kinds) addAll(itemsByProviderKind, kind, provision.itemNos);
    for (const id of provision.provider.institutions) addAll(itemsByProviderId, id, provision.itemNos);
  }
  return {
    clause,
    requesterKinds: new Set(clause.requester.kinds),
    requesterIds: new Set(clause.requester.institutions),
    itemsByProviderKind,
    itemsByProviderId,
  };
}

function addAll<K>(map: Map<K, Set<ItemNo>>, key: K, itemNos: readonly ItemNo[]): void {
  const set = map.get(key) ?? new Set<ItemNo>();
  for (const itemNo of itemNos) set.add(itemNo);
  map.set(key, set);
}

function authorize(
  inquiry: InquiryToAuthorize,
  clauses: ReadonlyMap<ClauseNo, ClauseIndex>,
  procedures: ReadonlyMap<ProcedureId, ProcedureIndex>,
  knownItems: ReadonlySet<ItemNo>,
): Authorization {
  const day = jstDate(inquiry.on);
  const { requester, provider } = inquiry;

  const indexed = clauses.get(inquiry.clauseNo);
  if (!indexed) {
    return refuse(
      'unknown_clause',
      `Appended Table 2 has no clause ${inquiry.clauseNo}; check the clause number (renkei legal procedures lists each procedure with its clause).`,
    );
  }
  const { clause } = indexed;
  if (!inForce(day, clause.effectiveFrom, clause.effectiveTo)) {
    return refuse(
      'clause_not_in_force',
      `Clause ${clause.clauseNo} is not in force on ${day} (in force ${period(clause)}); no inquiry can be made under it that day.`,
    );
  }

  const procedureEntry = procedures.get(inquiry.procedureId);
  if (!procedureEntry) {
    return refuse(
      'unknown_procedure',
      `No procedure ${inquiry.procedureId} is defined; renkei legal procedures --clause ${clause.clauseNo} lists the procedures under clause ${clause.clauseNo}.`,
    );
  }
  const { procedure } = procedureEntry;
  if (procedure.clauseNo !== clause.clauseNo) {
    return refuse(
      'procedure_not_under_clause',
      `Procedure ${procedure.procedureId} falls under clause ${procedure.clauseNo}, not clause ${clause.clauseNo}; cite clause ${procedure.clauseNo} with it.`,
    );
  }
  if (!inForce(day, procedure.effectiveFrom, procedure.effectiveTo)) {
    return refuse(
      'procedure_not_in_force',
      `Procedure ${procedure.procedureId} is not in force on ${day} (in force ${period(procedure)}).`,
    );
  }

  if (!indexed.requesterKinds.has(requester.kind) && !indexed.requesterIds.has(requester.id)) {
    return refuse(
      'requester_not_allowed',
      `Clause ${clause.clauseNo} does not let a ${requester.kind} (${requester.id}) make inquiries; it names ${describe(clause.requester)}; see legal/clauses.yaml.`,
    );
  }

  const byKind = indexed.itemsByProviderKind.get(provider.kind);
  const byId = indexed.itemsByProviderId.get(provider.id);
  if (!byKind && !byId) {
    return refuse(
      'provider_not_allowed',
      `Clause ${clause.clauseNo} names no ${provider.kind} (${provider.id}) as a provider; it names ${clause.provisions.map((p) => describe(p.provider)).join(', ')}; see legal/clauses.yaml.`,
    );
  }

  if (inquiry.itemNos.length === 0) {
    return refuse(
      'no_items',
      `The inquiry asks for no item; procedure ${procedure.procedureId} asks for ${brackets(procedure.itemNos)}: name the items needed.`,
    );
  }
  // Each rule over the whole list before the next, so the reason does not depend on the items' order:
  // an undefined item anywhere is `unknown_item`, even when an earlier item breaks a narrower rule.
  const unknown = inquiry.itemNos.find((itemNo) => !knownItems.has(itemNo));
  if (unknown !== undefined) {
    return refuse('unknown_item', `No item [${unknown}] is defined in legal/items.yaml.`);
  }
  const notAllowed = inquiry.itemNos.find((itemNo) => !byKind?.has(itemNo) && !byId?.has(itemNo));
  if (notAllowed !== undefined) {
    const allowed = [...new Set([...(byKind ?? []), ...(byId ?? [])])].sort((a, b) => a - b);
    return refuse(
      'item_not_allowed',
      `Clause ${clause.clauseNo} does not let ${provider.id} provide item [${notAllowed}]; from a ${provider.kind} it allows ${brackets(allowed)}.`,
    );
  }
  const notAsked = inquiry.itemNos.find((itemNo) => !procedureEntry.itemNos.has(itemNo));
  if (notAsked !== undefined) {
    return refuse(
      'item_not_in_procedure',
      `Procedure ${procedure.procedureId} does not ask for item [${notAsked}]; it asks for ${brackets(procedure.itemNos)}.`,
    );
  }
  return { allowed: true, clause, procedure };
}

function refuse(rule: RefusalRule, message: string): Authorization {
  return { allowed: false, rule, message };
}

/** Effective dates are JST calendar days, both ends inclusive. */
export function inForce(day: string, from: string, to: string | undefined): boolean {
  return day >= from && (to === undefined || day <= to);
}

function period(entry: { effectiveFrom: string; effectiveTo?: string }): string {
  return entry.effectiveTo === undefined
    ? `from ${entry.effectiveFrom}`
    : `from ${entry.effectiveFrom} to ${entry.effectiveTo}`;
}

function describe(selector: InstitutionSelector): string {
  return [...selector.kinds, ...selector.institutions].join('/');
}

function brackets(itemNos: readonly ItemNo[]): string {
  return itemNos.map((n) => `[${n}]`).join(' ');
}
