/**
 * The browser's check of page A (やりとり履歴), bundled by esbuild into `/assets/exchanges.js` when the
 * portal starts (`exchanges-bundle.ts`): one source with the verifier the tests use
 * (src/trust/merkle/web-verify.ts), no copy of it.
 *
 * For each row: the head's signature by the core's key and every leaf's inclusion proof
 * (`verifyRecordEvidence`), then that the row shows what the leaves say (who asked whom, the clause,
 * the procedure, the items, the date, the outcome). A valid proof of the right record proves nothing
 * if the page shows another institution beside it. Any doubt marks the row ✗; nothing here throws a
 * row away or hides it.
 *
 * No DOM library types in this project (its code runs in Node): the few DOM members used are declared
 * here, for this module only.
 */
import { verifyRecordEvidence, type EvidenceLeaf, type PublicJwk } from '../../../trust/merkle/web-verify.ts';

interface Element {
  readonly dataset: Record<string, string | undefined>;
  textContent: string | null;
  querySelector(selector: string): Element | null;
  setAttribute(name: string, value: string): void;
}
declare const document: {
  readonly documentElement: { readonly lang: string };
  querySelector(selector: string): Element | null;
  querySelectorAll(selector: string): Iterable<Element>;
};

interface Facts {
  processingNumber: string;
  requestedAt: string;
  requesterId: string;
  providerId: string;
  clauseNo: string;
  procedureId: string;
  itemNos: number[];
  outcome: string;
}

/** The verdicts' words, in the page's language (`<html lang>`, set by the portal's switch). */
const WORDS = {
  ja: {
    ok: '✓ 改ざんされていないことを確認しました',
    failed:
      '✗ この記録が、改ざんできない記録簿の内容と一致することを確認できませんでした。表示を信頼せず、ページを開き直してください。続くときはお問い合わせください。',
  },
  en: {
    ok: '✓ Checked: not altered',
    failed:
      '✗ This row could not be matched with the tamper-evident log. Do not trust what is shown: reload the page, and if it stays, contact the help desk.',
  },
};

function parse<T>(text: string | undefined): T | undefined {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as T);
  } catch {
    return undefined;
  }
}

/** Does the row show what its leaves say? The opening event names the parties; the answer, the outcome. */
function agrees(facts: Facts, leaves: readonly EvidenceLeaf[]): boolean {
  const events = leaves.map((l) => parse<Record<string, unknown>>(l.leaf) ?? {});
  const opened = events.find((e) => e.event === 'accepted' || e.event === 'refused');
  if (!opened) return false;
  const answered = events.find((e) => e.event === 'answered');
  const outcome = opened.event === 'refused' ? 'refused' : (answered?.outcome ?? 'pending');
  return (
    opened.requesterId === facts.requesterId &&
    opened.providerId === facts.providerId &&
    opened.clauseNo === facts.clauseNo &&
    opened.procedureId === facts.procedureId &&
    opened.at === facts.requestedAt &&
    JSON.stringify(opened.itemNos) === JSON.stringify(facts.itemNos) &&
    outcome === facts.outcome
  );
}

async function checkRow(row: Element, treeHead: string, key: PublicJwk | undefined): Promise<boolean> {
  const facts = parse<Facts>(row.dataset.facts);
  const leaves = parse<EvidenceLeaf[]>(row.dataset.evidence);
  if (!key || !facts || !Array.isArray(leaves)) return false;
  const verdict = await verifyRecordEvidence({ treeHead, leaves }, key, facts.processingNumber);
  return verdict.ok && agrees(facts, leaves);
}

async function main(): Promise<void> {
  const list = document.querySelector('#exchanges');
  if (!list) return;
  const key = parse<PublicJwk>(list.dataset.key);
  const treeHead = list.dataset.treeHead ?? '';
  for (const row of document.querySelectorAll('#exchanges [data-testid="exchange"]')) {
    const mark = row.querySelector('[data-testid="proof"]');
    if (!mark) continue;
    const ok = await checkRow(row, treeHead, key).catch(() => false);
    const words = document.documentElement.lang === 'en' ? WORDS.en : WORDS.ja;
    mark.textContent = ok ? words.ok : words.failed;
    mark.setAttribute('data-state', ok ? 'verified' : 'failed');
  }
}

void main();
