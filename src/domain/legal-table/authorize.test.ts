/**
 * `authorize`: the core's decision whether Appended Table 2 lets this requester ask this provider for
 * these items under this clause and procedure, on this date. A refusal names its rule and what to fix.
 */
import { describe, expect, it } from 'vitest';
import { buildLegalTable, loadLegalTable, type InquiryToAuthorize, type RefusalRule } from './index.ts';

const table = loadLegalTable();
const NOW = new Date('2026-04-01T03:00:00Z');

const shinjuku = { id: '131041', kind: 'municipality' } as const;
const sanjo = { id: '152048', kind: 'municipality' } as const;
const yokohama = { id: '141003', kind: 'municipality' } as const;
const osaka = { id: '271004', kind: 'municipality' } as const;
const tokyo = { id: '130001', kind: 'prefecture' } as const;
const jps = { id: 'jps', kind: 'pension_service' } as const;
const kyokaiKenpo = { id: 'kyokai-kenpo', kind: 'health_insurer' } as const;
const hellowork = { id: 'hellowork', kind: 'public_employment_security' } as const;

/** The seeds' 児童手当 example: X市 (三条市) asks A市 (新宿区) for local tax information. */
const childAllowance: InquiryToAuthorize = {
  requester: sanjo,
  provider: shinjuku,
  clauseNo: '74',
  procedureId: '074-01',
  itemNos: [2],
  on: NOW,
};

function refusal(inquiry: InquiryToAuthorize, against = table): { rule: RefusalRule; message: string } {
  const decision = against.authorize(inquiry);
  if (decision.allowed) throw new Error('expected a refusal, the inquiry was allowed');
  return { rule: decision.rule, message: decision.message };
}

describe('authorizing the demo exchanges', () => {
  it.each([
    ['municipality→municipality, clause 74 (児童手当), item [2]', childAllowance],
    [
      'municipality→municipality, clause 57 (児童扶養手当), item [1]',
      {
        ...childAllowance,
        requester: osaka,
        provider: yokohama,
        clauseNo: '57',
        procedureId: '057-01',
        itemNos: [1],
      },
    ],
    [
      'health insurer→pension service, clause 2 (傷病手当金), item [53]',
      {
        ...childAllowance,
        requester: kyokaiKenpo,
        provider: jps,
        clauseNo: '2',
        procedureId: '002-01',
        itemNos: [53],
      },
    ],
    [
      'pension service→municipality, clause 48 (国民年金保険料の免除), item [2]',
      {
        ...childAllowance,
        requester: jps,
        provider: shinjuku,
        clauseNo: '48',
        procedureId: '048-01',
        itemNos: [2],
      },
    ],
  ] satisfies [string, InquiryToAuthorize][])('allows %s', (_, inquiry) => {
    const decision = table.authorize(inquiry);
    expect(decision).toMatchObject({ allowed: true });
    if (decision.allowed) {
      expect(decision.clause.clauseNo).toBe(inquiry.clauseNo);
      expect(decision.procedure.procedureId).toBe(inquiry.procedureId);
    }
  });
});

describe('refusing an inquiry the legal table does not allow', () => {
  it('refuses an unknown clause, naming it', () => {
    const { rule, message } = refusal({ ...childAllowance, clauseNo: '999' });
    expect(rule).toBe('unknown_clause');
    expect(message).toContain('clause 999');
  });

  it('refuses an inquiry made before the clause came into force, naming both dates', () => {
    const { rule, message } = refusal({ ...childAllowance, on: new Date('2016-01-01T03:00:00Z') });
    expect(rule).toBe('clause_not_in_force');
    expect(message).toContain('Clause 74 is not in force on 2016-01-01');
    expect(message).toContain('in force from 2017-07-18');
  });

  it('refuses an inquiry made after the clause ceased to be in force, naming its last day', () => {
    const small = smallTable({ effectiveTo: '2023-03-31' });
    const lastDay = small.authorize({ ...childAllowance, on: new Date('2023-03-31T14:59:59Z') });
    expect(lastDay.allowed).toBe(true);
    const { rule, message } = refusal({ ...childAllowance, on: new Date('2023-03-31T15:00:00Z') }, small);
    expect(rule).toBe('clause_not_in_force');
    expect(message).toContain('not in force on 2023-04-01');
    expect(message).toContain('to 2023-03-31');
  });

  it('compares effective dates as JST calendar days', () => {
    // 2017-07-17T15:00:00Z is 2017-07-18 00:00 in Japan, the day clause 74 came into force.
    expect(table.authorize({ ...childAllowance, on: new Date('2017-07-17T15:00:00Z') }).allowed).toBe(true);
    const before = refusal({ ...childAllowance, on: new Date('2017-07-17T14:59:59Z') });
    expect(before.rule).toBe('clause_not_in_force');
    expect(before.message).toContain('not in force on 2017-07-17');
  });

  it('refuses an unknown procedure, naming it', () => {
    const { rule, message } = refusal({ ...childAllowance, procedureId: '074-99' });
    expect(rule).toBe('unknown_procedure');
    expect(message).toContain('074-99');
  });

  it('refuses a procedure cited under another clause, naming the clause it falls under', () => {
    const { rule, message } = refusal({ ...childAllowance, procedureId: '057-01' });
    expect(rule).toBe('procedure_not_under_clause');
    expect(message).toContain('Procedure 057-01 falls under clause 57, not clause 74');
  });

  it('refuses a procedure not yet in force although its clause is', () => {
    // 057-02 (児童扶養手当, pension information) begins 2019-07-01; clause 57 on 2017-07-18.
    const { rule, message } = refusal({
      ...childAllowance,
      requester: osaka,
      provider: jps,
      clauseNo: '57',
      procedureId: '057-02',
      itemNos: [53],
      on: new Date('2018-01-01T03:00:00Z'),
    });
    expect(rule).toBe('procedure_not_in_force');
    expect(message).toContain('057-02');
  });

  it('refuses a requester the clause does not name, naming the requester and the file', () => {
    const { rule, message } = refusal({ ...childAllowance, requester: tokyo });
    expect(rule).toBe('requester_not_allowed');
    expect(message).toContain('Clause 74 does not let a prefecture (130001) make inquiries');
    expect(message).toContain('it names municipality');
    expect(message).toContain('legal/clauses.yaml');
  });

  it('refuses a provider the clause does not name, naming the provider and the file', () => {
    const { rule, message } = refusal({ ...childAllowance, provider: hellowork });
    expect(rule).toBe('provider_not_allowed');
    expect(message).toContain('Clause 74 names no public_employment_security (hellowork) as a provider');
    expect(message).toContain('legal/clauses.yaml');
  });

  it('refuses an unknown item, naming it', () => {
    const { rule, message } = refusal({ ...childAllowance, itemNos: [2, 998] });
    expect(rule).toBe('unknown_item');
    expect(message).toContain('[998]');
  });

  it("names the broadest broken rule of the item list, whatever the items' order", () => {
    // Under clause 57 a municipality may give [1], which 057-02 (asking for [53] only) does not ask for;
    // [53] is not a municipality's to give; [998] is undefined. The broadest rule wins in either order.
    const base = {
      ...childAllowance,
      requester: osaka,
      provider: yokohama,
      clauseNo: '57',
      procedureId: '057-02',
    };
    expect(refusal({ ...base, itemNos: [1, 998] }).rule).toBe('unknown_item');
    expect(refusal({ ...base, itemNos: [998, 1] }).rule).toBe('unknown_item');
    expect(refusal({ ...base, itemNos: [1, 53] }).rule).toBe('item_not_allowed');
    expect(refusal({ ...base, itemNos: [53, 1] }).rule).toBe('item_not_allowed');
    expect(refusal({ ...base, itemNos: [1] }).rule).toBe('item_not_in_procedure');
  });

  it('refuses an inquiry that asks for no item, whatever else it gets right', () => {
    const { rule, message } = refusal({ ...childAllowance, itemNos: [] });
    expect(rule).toBe('no_items');
    expect(message).toContain('asks for no item');
    expect(message).toContain('procedure 074-01 asks for [1] [2]');
  });

  it('refuses an item the clause does not let this provider give', () => {
    const { rule, message } = refusal({ ...childAllowance, itemNos: [53] });
    expect(rule).toBe('item_not_allowed');
    expect(message).toContain('Clause 74 does not let 131041 provide item [53]');
    expect(message).toContain('from a municipality it allows [1] [2]');
  });

  it('refuses an item the clause allows but the procedure does not ask for, listing what it asks for', () => {
    // Clause 57 lets a municipality give item [1]; procedure 057-02 (pension information) asks for [53] only.
    const { rule, message } = refusal({
      ...childAllowance,
      requester: osaka,
      provider: yokohama,
      clauseNo: '57',
      procedureId: '057-02',
      itemNos: [1],
    });
    expect(rule).toBe('item_not_in_procedure');
    expect(message).toContain('Procedure 057-02 does not ask for item [1]; it asks for [53]');
  });
});

/**
 * A one-clause table, to test what the real table has no example of (a clause that ended). Its
 * procedure ends with the clause, as the loader requires.
 */
function smallTable(clause: { effectiveTo?: string }) {
  return buildLegalTable({
    items: [
      {
        itemNo: 2,
        name: '地方税関係情報',
        nameEn: 'local tax information',
        modelled: false,
        layouts: [
          {
            version: 'test',
            effectiveFrom: '2017-07-18',
            fields: [
              { name: 'taxYear', label: '課税年度', labelEn: 'Tax year', type: 'integer', required: true },
            ],
            example: { taxYear: 2020 },
          },
        ],
      },
    ],
    clauses: [
      {
        clauseNo: '74',
        business: '児童手当の支給に関する事務',
        businessEn: 'Child allowance',
        law: '児童手当法',
        lawEn: 'Child Allowance Act',
        requester: { kinds: ['municipality'] },
        provisions: [{ provider: { kinds: ['municipality'] }, itemNos: [2] }],
        effectiveFrom: '2017-07-18',
        ...clause,
        modelled: true,
      },
    ],
    procedures: [
      {
        procedureId: '074-01',
        clauseNo: '74',
        name: '児童手当の申請',
        nameEn: 'Child allowance application',
        appliedTo: '市町村',
        appliedToEn: 'Municipality',
        itemNos: [2],
        attachmentsOmitted: [{ name: '課税証明書', nameEn: 'Tax certificate', itemNos: [2] }],
        itemNosWithoutAttachment: [],
        effectiveFrom: '2017-07-18',
        ...clause,
        modelled: true,
      },
    ],
  });
}
