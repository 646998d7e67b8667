/**
 * The diff between two versions of the legal table: entries added, removed and changed by key, each
 * changed field named with its values, and layout versions' fields added, removed or retyped.
 */
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { diffLegalTables, formatLegalTableDiff, isEmptyDiff } from './diff.ts';
import { legalTableFromFiles, readLegalFiles, type LegalFiles } from './load.ts';

type Entry = Record<string, unknown>;

const base = readLegalFiles();

/** The real `legal/` with one file's entries changed. */
function edited(part: keyof LegalFiles, change: (entries: Entry[]) => void): LegalFiles {
  const entries = parse(base[part]) as Entry[];
  change(entries);
  return { ...base, [part]: stringify(entries) };
}

function find(entries: Entry[], key: string, id: unknown): Entry {
  const found = entries.find((e) => e[key] === id);
  if (!found) throw new Error(`test setup: no ${key} ${String(id)}`);
  return found;
}

describe('diffLegalTables', () => {
  it('finds nothing between a version and itself, nor when only comments differ', () => {
    const table = legalTableFromFiles(base);
    expect(isEmptyDiff(diffLegalTables(table, table))).toBe(true);
    const commented = legalTableFromFiles({ ...base, clauses: `# a new comment\n${base.clauses}` });
    expect(commented.digest).not.toBe(table.digest);
    expect(isEmptyDiff(diffLegalTables(table, commented))).toBe(true);
    expect(formatLegalTableDiff(diffLegalTables(table, commented))).toContain(
      'No clause, procedure, item or layout differs.',
    );
  });

  it("names a procedure's changed fields with their values before and after", () => {
    const before = legalTableFromFiles(base);
    const after = legalTableFromFiles(
      edited('procedures', (procedures) => {
        const p = find(procedures, 'procedureId', '074-01');
        p.appliedTo = '市区町村';
        p.effectiveTo = '2030-03-31';
      }),
    );
    const diff = diffLegalTables(before, after);
    expect(diff.procedures.added).toEqual([]);
    expect(diff.procedures.removed).toEqual([]);
    expect(diff.procedures.changed).toEqual([
      {
        key: '074-01',
        name: '児童手当の申請（認定請求）',
        changes: [
          { field: 'appliedTo', from: '市町村', to: '市区町村' },
          { field: 'effectiveTo', from: '', to: '2030-03-31' },
        ],
      },
    ]);
    expect(formatLegalTableDiff(diff)).toContain('effectiveTo: (none) → 2030-03-31');
  });

  it('names an English name changed: of a procedure, an attachment, a law and a layout label', () => {
    const before = legalTableFromFiles(base);
    const procedures = edited('procedures', (entries) => {
      const p = find(entries, 'procedureId', '074-01');
      p.appliedToEn = 'City, town or village';
      const attachments = p.attachmentsOmitted as Entry[];
      for (const a of attachments) if (a.name === '課税証明書') a.nameEn = 'Income certificate';
      // One document, one English name: every procedure that omits it says so.
      for (const other of entries) {
        for (const a of other.attachmentsOmitted as Entry[]) {
          if (a.name === '課税証明書') a.nameEn = 'Income certificate';
        }
      }
    });
    const clauses = edited('clauses', (entries) => {
      find(entries, 'clauseNo', '74').lawEn = 'Child Allowances Act';
    });
    const items = edited('items', (entries) => {
      const layouts = find(entries, 'itemNo', 2).layouts as Entry[];
      const fields = layouts.at(-1)?.fields as Entry[];
      find(fields, 'name', 'taxYear').labelEn = 'Year of assessment';
    });
    const after = legalTableFromFiles({
      clauses: clauses.clauses,
      procedures: procedures.procedures,
      items: items.items,
    });
    const diff = diffLegalTables(before, after);
    const changes = diff.procedures.changed.find((c) => c.key === '074-01')?.changes ?? [];
    expect(changes.map((c) => c.field)).toEqual(['appliedToEn', 'attachmentsEn']);
    expect(changes[1]?.to).toContain('課税証明書: Income certificate');
    expect(diff.clauses.changed).toEqual([
      {
        key: '74',
        name: expect.any(String) as string,
        changes: [{ field: 'lawEn', from: 'Child Allowance Act', to: 'Child Allowances Act' }],
      },
    ]);
    const layout = diff.layouts.find((l) => l.itemNo === 2);
    expect(layout?.fields).toEqual([
      {
        name: 'taxYear',
        label: '課税年度',
        kind: 'retyped',
        changes: [{ field: 'labelEn', from: 'Tax year', to: 'Year of assessment' }],
      },
    ]);
  });

  it('lists a procedure added and one removed, and a clause whose requester and providers changed', () => {
    const before = legalTableFromFiles(base);
    const procedures = parse(base.procedures) as Entry[];
    const copy = {
      ...find(procedures, 'procedureId', '074-01'),
      procedureId: '074-09',
      name: '児童手当の新しい手続',
    };
    const removedId = String(procedures.find((p) => p.procedureId !== '074-01')?.procedureId);
    const removedName = String(find(procedures, 'procedureId', removedId).name);
    const after = legalTableFromFiles({
      ...base,
      procedures: stringify([...procedures.filter((p) => p.procedureId !== removedId), copy]),
      clauses: edited('clauses', (clauses) => {
        const c = find(clauses, 'clauseNo', '74');
        c.requester = { kinds: ['municipality'], institutions: ['131016'] };
        const provisions = c.provisions as Entry[];
        const first = provisions[0] as Entry;
        first.provider = { ...(first.provider as Entry), institutions: ['131016'] };
      }).clauses,
    });
    const diff = diffLegalTables(before, after);
    expect(diff.procedures.added).toEqual([{ key: '074-09', name: '児童手当の新しい手続' }]);
    expect(diff.procedures.removed).toEqual([{ key: removedId, name: removedName }]);
    const clause = diff.clauses.changed.find((c) => c.key === '74');
    expect(clause?.changes.map((c) => c.field)).toEqual(['requester', 'providers']);
    expect(clause?.changes[0]?.to).toBe('kinds: municipality; institutions: 131016');
  });

  it("reports a layout version's fields added, removed and retyped, and a new version", () => {
    const before = legalTableFromFiles(base);
    const after = legalTableFromFiles(
      edited('items', (items) => {
        const item = find(items, 'itemNo', 2);
        const layouts = item.layouts as Entry[];
        const newest = layouts.at(-1) as Entry;
        const fields = newest.fields as Entry[];
        const example = newest.example as Entry;
        // retype dependents (a new maximum), remove nonTaxable, add a note
        const dependents = find(fields, 'name', 'dependents');
        dependents.max = 30;
        newest.fields = [
          ...fields.filter((f) => f.name !== 'nonTaxable'),
          { name: 'note', label: '備考', labelEn: 'Remarks', type: 'string', required: false },
        ];
        delete example.nonTaxable;
        newest.effectiveTo = '2027-03-31';
        layouts.push({
          ...newest,
          version: '2027.04',
          effectiveFrom: '2027-04-01',
          effectiveTo: undefined,
        });
        delete (layouts.at(-1) as Entry).effectiveTo;
      }),
    );
    const diff = diffLegalTables(before, after);
    const newest = before.findItem(2)?.layouts.at(-1)?.version;
    const changed = diff.layouts.find((l) => l.itemNo === 2 && l.version === newest);
    expect(changed?.kind).toBe('changed');
    expect(changed?.changes).toEqual([{ field: 'effectiveTo', from: '', to: '2027-03-31' }]);
    expect(changed?.fields).toEqual([
      {
        name: 'dependents',
        label: '扶養親族数',
        kind: 'retyped',
        changes: [{ field: 'max', from: '20', to: '30' }],
      },
      { name: 'note', label: '備考', kind: 'added', changes: [] },
      { name: 'nonTaxable', label: '非課税', kind: 'removed', changes: [] },
    ]);
    expect(diff.layouts.find((l) => l.version === '2027.04')?.kind).toBe('added');
    const text = formatLegalTableDiff(diff);
    expect(text).toContain('~ field dependents (扶養親族数): max 20 → 30');
    expect(text).toContain('+ item 2 地方税関係情報 layout 2027.04');
  });
});
