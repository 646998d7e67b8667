/**
 * What changed between two versions of the legal table, as an operator reviews it before a version
 * takes effect: clauses, procedures and items added, removed or changed (naming each changed field,
 * with its value before and after), and each item's layout versions (改版) added, removed or changed
 * (fields added, removed or retyped, dates). Pure: two loaded tables in, a `LegalTableDiff` out;
 * `formatLegalTableDiff` renders it as text for `renkei legal diff`, the console renders the same data.
 *
 * We considered a line diff of the YAML files: it shows formatting and comments as changes, and a
 * reordered list as everything removed and added again. Comparing the loaded entries by their keys
 * says what an inquiry will see differently.
 */
import type {
  Clause,
  InfoItem,
  InstitutionSelector,
  LayoutField,
  LayoutVersion,
  LegalTable,
  Procedure,
} from './types.ts';

/** One field whose value differs, as text a person reads (`[1] [2]`, `kinds: municipality`). */
export interface FieldChange {
  field: string;
  from: string;
  to: string;
}

export interface EntryChange {
  key: string;
  name: string;
  changes: FieldChange[];
}

export interface LayoutFieldChange {
  name: string;
  label: string;
  /** `added`, `removed`, or `retyped` (its labels, type, limits, values or `required` differ: `changes`). */
  kind: 'added' | 'removed' | 'retyped';
  changes: FieldChange[];
}

export interface LayoutChange {
  itemNo: number;
  itemName: string;
  version: string;
  kind: 'added' | 'removed' | 'changed';
  /** Dates of the version (effectiveFrom, effectiveTo) where they differ. */
  changes: FieldChange[];
  fields: LayoutFieldChange[];
}

export interface EntrySet {
  added: { key: string; name: string }[];
  removed: { key: string; name: string }[];
  changed: EntryChange[];
}

export interface LegalTableDiff {
  from: string;
  to: string;
  clauses: EntrySet;
  procedures: EntrySet;
  items: EntrySet;
  layouts: LayoutChange[];
}

/** Nothing differs that an inquiry or a layout check would see (the digests may still differ: comments). */
export function isEmptyDiff(diff: LegalTableDiff): boolean {
  const empty = (set: EntrySet) => set.added.length + set.removed.length + set.changed.length === 0;
  return empty(diff.clauses) && empty(diff.procedures) && empty(diff.items) && diff.layouts.length === 0;
}

export function diffLegalTables(a: LegalTable, b: LegalTable): LegalTableDiff {
  return {
    from: a.digest,
    to: b.digest,
    clauses: diffEntries(
      a.clauses,
      b.clauses,
      (c) => c.clauseNo,
      (c) => c.business,
      clauseFields,
    ),
    procedures: diffEntries(
      a.procedures,
      b.procedures,
      (p) => p.procedureId,
      (p) => p.name,
      procedureFields,
    ),
    items: diffEntries(
      a.items,
      b.items,
      (i) => String(i.itemNo),
      (i) => i.name,
      itemFields,
    ),
    layouts: diffLayouts(a.items, b.items),
  };
}

function diffEntries<T>(
  before: readonly T[],
  after: readonly T[],
  key: (entry: T) => string,
  name: (entry: T) => string,
  fields: (entry: T) => Record<string, string>,
): EntrySet {
  const old = new Map(before.map((e) => [key(e), e]));
  const now = new Map(after.map((e) => [key(e), e]));
  const set: EntrySet = { added: [], removed: [], changed: [] };
  for (const [k, entry] of sortedEntries(now)) {
    const was = old.get(k);
    if (!was) {
      set.added.push({ key: k, name: name(entry) });
      continue;
    }
    const changes = changedFields(fields(was), fields(entry));
    if (changes.length > 0) set.changed.push({ key: k, name: name(entry), changes });
  }
  for (const [k, entry] of sortedEntries(old)) {
    if (!now.has(k)) set.removed.push({ key: k, name: name(entry) });
  }
  return set;
}

/** Keys in the legal table's own order for numbers (48 before 108), then text. */
function sortedEntries<T>(map: ReadonlyMap<string, T>): [string, T][] {
  return [...map].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
}

function changedFields(before: Record<string, string>, after: Record<string, string>): FieldChange[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return names
    .filter((field) => (before[field] ?? '') !== (after[field] ?? ''))
    .map((field) => ({ field, from: before[field] ?? '', to: after[field] ?? '' }));
}

const items = (itemNos: readonly number[]) => itemNos.map((n) => `[${n}]`).join(' ');

function selector(s: InstitutionSelector): string {
  return [
    s.kinds.length > 0 ? `kinds: ${s.kinds.join(', ')}` : '',
    s.institutions.length > 0 ? `institutions: ${s.institutions.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}

function clauseFields(c: Clause): Record<string, string> {
  return {
    business: c.business,
    businessEn: c.businessEn,
    law: c.law,
    lawEn: c.lawEn,
    requester: selector(c.requester),
    // Who may be asked, and for what: one line per provision, as the file lists them.
    providers: c.provisions.map((p) => `${selector(p.provider)} → ${items(p.itemNos)}`).join(' | '),
    effectiveFrom: c.effectiveFrom,
    effectiveTo: c.effectiveTo ?? '',
    modelled: String(c.modelled),
  };
}

function procedureFields(p: Procedure): Record<string, string> {
  return {
    clauseNo: p.clauseNo,
    name: p.name,
    nameEn: p.nameEn,
    appliedTo: p.appliedTo,
    appliedToEn: p.appliedToEn,
    itemNos: items(p.itemNos),
    attachments: p.attachmentsOmitted.map((a) => `${a.name} ← ${items(a.itemNos)}`).join(', '),
    attachmentsEn: p.attachmentsOmitted.map((a) => `${a.name}: ${a.nameEn}`).join(', '),
    itemNosWithoutAttachment: items(p.itemNosWithoutAttachment),
    effectiveFrom: p.effectiveFrom,
    effectiveTo: p.effectiveTo ?? '',
    modelled: String(p.modelled),
  };
}

function itemFields(i: InfoItem): Record<string, string> {
  return { name: i.name, nameEn: i.nameEn, modelled: String(i.modelled) };
}

function layoutFieldText(f: LayoutField): Record<string, string> {
  return {
    label: f.label,
    labelEn: f.labelEn,
    type: f.type,
    required: String(f.required),
    maxLength: f.maxLength === undefined ? '' : String(f.maxLength),
    min: f.min === undefined ? '' : String(f.min),
    max: f.max === undefined ? '' : String(f.max),
    values: f.values?.join(', ') ?? '',
  };
}

function diffLayouts(before: readonly InfoItem[], after: readonly InfoItem[]): LayoutChange[] {
  const old = new Map(before.map((i) => [i.itemNo, i]));
  const now = new Map(after.map((i) => [i.itemNo, i]));
  const itemNos = [...new Set([...old.keys(), ...now.keys()])].sort((x, y) => x - y);
  const changes: LayoutChange[] = [];
  for (const itemNo of itemNos) {
    const was = old.get(itemNo);
    const is = now.get(itemNo);
    const itemName = (is ?? was)?.name ?? '';
    // An item added or removed whole is named under `items`; its layouts are listed here too.
    const oldVersions = new Map((was?.layouts ?? []).map((l) => [l.version, l]));
    const newVersions = new Map((is?.layouts ?? []).map((l) => [l.version, l]));
    for (const [version, layout] of newVersions) {
      const prior = oldVersions.get(version);
      if (!prior) {
        changes.push({
          itemNo,
          itemName,
          version,
          kind: 'added',
          changes: [],
          fields: fieldsOf(layout, 'added'),
        });
        continue;
      }
      const dates = changedFields(layoutDates(prior), layoutDates(layout));
      const fields = diffLayoutFields(prior.fields, layout.fields);
      if (dates.length + fields.length > 0) {
        changes.push({ itemNo, itemName, version, kind: 'changed', changes: dates, fields });
      }
    }
    for (const [version, layout] of oldVersions) {
      if (!newVersions.has(version)) {
        changes.push({
          itemNo,
          itemName,
          version,
          kind: 'removed',
          changes: [],
          fields: fieldsOf(layout, 'removed'),
        });
      }
    }
  }
  return changes;
}

function layoutDates(l: LayoutVersion): Record<string, string> {
  return { effectiveFrom: l.effectiveFrom, effectiveTo: l.effectiveTo ?? '' };
}

function fieldsOf(layout: LayoutVersion, kind: 'added' | 'removed'): LayoutFieldChange[] {
  return layout.fields.map((f) => ({ name: f.name, label: f.label, kind, changes: [] }));
}

function diffLayoutFields(
  before: readonly LayoutField[],
  after: readonly LayoutField[],
): LayoutFieldChange[] {
  const old = new Map(before.map((f) => [f.name, f]));
  const now = new Map(after.map((f) => [f.name, f]));
  const out: LayoutFieldChange[] = [];
  for (const [name, field] of now) {
    const was = old.get(name);
    if (!was) {
      out.push({ name, label: field.label, kind: 'added', changes: [] });
      continue;
    }
    const changes = changedFields(layoutFieldText(was), layoutFieldText(field));
    if (changes.length > 0) out.push({ name, label: field.label, kind: 'retyped', changes });
  }
  for (const [name, field] of old) {
    if (!now.has(name)) out.push({ name, label: field.label, kind: 'removed', changes: [] });
  }
  return out;
}

const SIGN = { added: '+', removed: '-', changed: '~', retyped: '~' } as const;

/** The words of the diff's text: its title, section headings and row labels, in one language. */
export interface LegalDiffWords {
  title: string;
  none: string;
  clauses: string;
  procedures: string;
  items: string;
  layouts: string;
  clause: string;
  procedure: string;
  item: string;
  layout: string;
  field: string;
  /** An empty value before or after. */
  empty: string;
}

/** The diff's words in English, as a console page shows them. */
const ENGLISH_WORDS = {
  title: 'Legal table',
  none: 'No clause, procedure, item or layout differs.',
  clauses: 'Clauses',
  procedures: 'Procedures',
  items: 'Items',
  layouts: 'Layout versions',
  clause: 'clause',
  procedure: 'procedure',
  item: 'item',
  layout: 'layout',
  field: 'field',
  empty: '(none)',
};

/**
 * The diff's words for `renkei legal diff` (English with the seeds' terms beside them, as the CLI
 * speaks) and for a console page in each language. The field names (`requester`, `itemNos`,
 * `effectiveTo`…) are the YAML files' own keys in every language: they are what an operator edits.
 */
export const LEGAL_DIFF_WORDS = {
  // The command line's are the English ones with each section's Japanese term beside it.
  cli: {
    ...ENGLISH_WORDS,
    clauses: 'Clauses (項)',
    procedures: 'Procedures (事務手続)',
    items: 'Items (特定個人情報)',
    layouts: 'Layout versions (データ標準レイアウト)',
  },
  en: ENGLISH_WORDS,
  ja: {
    title: '別表第二',
    none: '項・事務手続・特定個人情報・データ標準レイアウトに差分はありません。',
    clauses: '項',
    procedures: '事務手続',
    items: '特定個人情報',
    layouts: 'データ標準レイアウトの版',
    clause: '項',
    procedure: '事務手続',
    item: '特定個人情報',
    layout: '版',
    field: '項目',
    empty: '（なし）',
  },
} as const satisfies Record<'cli' | 'en' | 'ja', LegalDiffWords>;

/**
 * The diff as text: one section per kind of entry, `+` added, `-` removed, `~` changed with its
 * fields, in the words given (the CLI's by default).
 */
export function formatLegalTableDiff(
  diff: LegalTableDiff,
  words: LegalDiffWords = LEGAL_DIFF_WORDS.cli,
): string {
  const w = words;
  const lines = [`${w.title} ${diff.from.slice(0, 12)} → ${diff.to.slice(0, 12)}`];
  if (isEmptyDiff(diff)) {
    lines.push('', w.none);
    return `${lines.join('\n')}\n`;
  }
  const value = (text: string) => text || w.empty;
  const section = (title: string, noun: string, set: EntrySet) => {
    if (set.added.length + set.removed.length + set.changed.length === 0) return;
    lines.push('', title);
    for (const e of set.added) lines.push(`  + ${noun} ${e.key} ${e.name}`);
    for (const e of set.removed) lines.push(`  - ${noun} ${e.key} ${e.name}`);
    for (const e of set.changed) {
      lines.push(`  ~ ${noun} ${e.key} ${e.name}`);
      for (const c of e.changes) lines.push(`      ${c.field}: ${value(c.from)} → ${value(c.to)}`);
    }
  };
  section(w.clauses, w.clause, diff.clauses);
  section(w.procedures, w.procedure, diff.procedures);
  section(w.items, w.item, diff.items);
  if (diff.layouts.length > 0) {
    lines.push('', w.layouts);
    for (const l of diff.layouts) {
      lines.push(`  ${SIGN[l.kind]} ${w.item} ${l.itemNo} ${l.itemName} ${w.layout} ${l.version}`);
      for (const c of l.changes) lines.push(`      ${c.field}: ${value(c.from)} → ${value(c.to)}`);
      if (l.kind === 'changed') {
        for (const f of l.fields) {
          const detail = f.changes.map((c) => `${c.field} ${value(c.from)} → ${value(c.to)}`).join(', ');
          lines.push(`      ${SIGN[f.kind]} ${w.field} ${f.name} (${f.label})${detail ? `: ${detail}` : ''}`);
        }
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
