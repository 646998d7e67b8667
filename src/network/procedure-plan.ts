/**
 * One inquiry per procedure of the legal table that a demo clerk can make on the demo world: which
 * institution asks, which one it asks, about whom, for which items. It is derived from `legal/` and
 * the world rather than written by hand, so that a procedure added to `legal/` without an institution
 * or a copy in the demo world to run it shows up as unrunnable (test/procedures.test.ts) instead of
 * being silently left out of the demo.
 */
import type { InstitutionSelector, LegalTable, Procedure } from '../domain/legal-table/types.ts';
import type { ItemNo } from '../protocol/identifiers.ts';
import type { Scenario } from './scenarios.ts';
import type { World, WorldInstitution } from './world.ts';

export interface ProcedurePlan {
  /** One scenario per runnable procedure, expected to be provided. */
  scenarios: Scenario[];
  /** Procedures the demo world cannot run, and why (what to add to the world). */
  unrunnable: { procedureId: string; reason: string }[];
  /**
   * Procedures only the Myna Portal may ask under (its 自己情報表示, clause 900): no clerk of the
   * world makes them; the portal's own tests run them (test/portal-my-information.test.ts).
   */
  byPortal: string[];
  /**
   * Procedures only the Myna Portal provides for (clause 130: the public-funds receiving account a
   * resident registers there). The demo world's residents register none on their own, so these are
   * run where a resident does (test/portal-money.test.ts), not here.
   */
  portalProvided: string[];
}

export function planProcedureInquiries(legalTable: LegalTable, world: World): ProcedurePlan {
  const plan: ProcedurePlan = { scenarios: [], unrunnable: [], byPortal: [], portalProvided: [] };
  for (const procedure of legalTable.procedures) {
    const clause = legalTable.findClause(procedure.clauseNo);
    const requester = clause?.requester;
    if (requester && requester.institutions.length === 0 && requester.kinds.every((k) => k === 'portal')) {
      plan.byPortal.push(procedure.procedureId);
      continue;
    }
    if (clause?.provisions.every((p) => p.provider.kinds.length === 1 && p.provider.kinds[0] === 'portal')) {
      plan.portalProvided.push(procedure.procedureId);
      continue;
    }
    const found = planOne(legalTable, world, procedure);
    if (typeof found === 'string')
      plan.unrunnable.push({ procedureId: procedure.procedureId, reason: found });
    else plan.scenarios.push(found);
  }
  return plan;
}

function planOne(legalTable: LegalTable, world: World, procedure: Procedure): Scenario | string {
  const clause = legalTable.findClause(procedure.clauseNo);
  if (!clause) return `clause ${procedure.clauseNo} is not defined`;
  const requesters = world.institutions.filter((i) => selects(clause.requester, i));
  if (requesters.length === 0) return `no institution of the world may ask under clause ${clause.clauseNo}`;
  // The provider that gives most of the procedure's items, so that the one inquiry covers as much of
  // the procedure as one provider can; ties go to the world's order.
  const providers = world.institutions
    .map((institution) => ({
      institution,
      itemNos: procedure.itemNos.filter((itemNo) =>
        clause.provisions.some((p) => selects(p.provider, institution) && p.itemNos.includes(itemNo)),
      ),
    }))
    .filter((p) => p.itemNos.length > 0)
    .sort((a, b) => b.itemNos.length - a.itemNos.length);
  if (providers.length === 0)
    return `no institution of the world provides its items under clause ${clause.clauseNo}`;
  for (const provider of providers) {
    for (const resident of world.residents) {
      const copies = resident.copies[provider.institution.id] ?? {};
      if (!provider.itemNos.every((itemNo: ItemNo) => copies[itemNo] !== undefined)) continue;
      const requester = requesters.find(
        (r) => r.id !== provider.institution.id && resident.knownAt.includes(r.id),
      );
      if (!requester || !resident.knownAt.includes(provider.institution.id)) continue;
      return {
        id: procedure.procedureId,
        title: `${procedure.name} (${procedure.nameEn})`,
        application: `${procedure.name} at ${requester.name}`,
        requesterId: requester.id,
        providerId: provider.institution.id,
        clauseNo: procedure.clauseNo,
        procedureId: procedure.procedureId,
        itemNos: provider.itemNos,
        residents: [resident.key],
        expect: { outcome: 'provided' },
      };
    }
  }
  const best = providers[0];
  return `no resident is known at a requester and at a provider holding copies of the items (e.g. ${
    best?.institution.name ?? '?'
  } holding [${best?.itemNos.join(', ') ?? ''}])`;
}

function selects(selector: InstitutionSelector, institution: WorldInstitution): boolean {
  return selector.kinds.includes(institution.kind) || selector.institutions.includes(institution.id);
}
