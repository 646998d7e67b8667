/**
 * The public-funds receiving account (公金受取口座), service D: the resident registers one account
 * at the portal, changes or deletes it; institutions paying a benefit get it through the network
 * (the portal answers item 70 as a provider: `src/protocol/provider.ts` over `MoneyStore`).
 *
 * Real law: 公金受取口座登録法 (2021). The account is registered with the Digital Agency, which the
 * portal stands for here. Each field is checked with a message a resident can act on; digits typed
 * full-width (１２３４) are taken as half-width, and a half-width space in the name as a full-width one.
 */
import { RenkeiError } from '../../../shared/errors.ts';
import type { Clock } from '../../../shared/clock.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { AccountRow, AccountType, MoneyStore } from '../money-store.ts';

export interface AccountInput {
  bankCode: string;
  branchCode: string;
  accountType: AccountType;
  accountNumber: string;
  holderName: string;
}

/** A field's problem, in Japanese and English, for the form. */
export type AccountProblems = Partial<Record<keyof AccountInput, [string, string]>>;

export const ACCOUNT_TYPES: Record<AccountType, [string, string]> = {
  ordinary: ['普通', 'Ordinary'],
  current: ['当座', 'Current'],
};

/** The typed form, normalised (NFKC digits, trimmed, full-width spaces in the name) and checked. */
export function checkAccount(
  fields: Record<string, string | undefined>,
):
  | { ok: true; account: AccountInput }
  | { ok: false; problems: AccountProblems; given: Record<string, string> } {
  const digits = (v: string | undefined) => (v ?? '').normalize('NFKC').replace(/[\s-]/g, '');
  const bankCode = digits(fields.bankCode);
  const branchCode = digits(fields.branchCode);
  const accountNumber = digits(fields.accountNumber);
  const accountType = fields.accountType ?? '';
  const holderName = (fields.holderName ?? '').trim().replace(/[ \u3000]+/g, '\u3000');
  const problems: AccountProblems = {};
  if (!/^\d{4}$/.test(bankCode)) {
    problems.bankCode = [
      '金融機関コードは数字4桁で入力してください（通帳やキャッシュカードに記載があります）。',
      'Enter the 4-digit bank code.',
    ];
  }
  if (!/^\d{3}$/.test(branchCode)) {
    problems.branchCode = ['支店番号（店番）は数字3桁で入力してください。', 'Enter the 3-digit branch code.'];
  }
  if (accountType !== 'ordinary' && accountType !== 'current') {
    problems.accountType = ['預金種目（普通・当座）を選んでください。', 'Choose the account type.'];
  }
  if (!/^\d{7}$/.test(accountNumber)) {
    problems.accountNumber = [
      '口座番号は数字7桁で入力してください。7桁に満たないときは、前に0を付けてください（例：0012345）。',
      'Enter the 7-digit account number, with leading zeros.',
    ];
  }
  if (!/^[\u30A1-\u30F6\u30FC\u3000]{1,30}$/.test(holderName) || holderName.startsWith('\u3000')) {
    problems.holderName = [
      '口座名義は全角カタカナ30文字以内で、通帳のとおりに入力してください（例：ヤマダ　タロウ）。',
      'Enter the account holder’s name in full-width katakana, as in the passbook.',
    ];
  }
  if (Object.keys(problems).length > 0) {
    return {
      ok: false,
      problems,
      given: { bankCode, branchCode, accountType, accountNumber, holderName },
    };
  }
  return {
    ok: true,
    account: { bankCode, branchCode, accountType: accountType as AccountType, accountNumber, holderName },
  };
}

export interface AccountServiceDeps {
  store: MoneyStore;
  clock: Clock;
  logger: Logger;
}

export class AccountService {
  constructor(private readonly deps: AccountServiceDeps) {}

  find(personId: string): Promise<AccountRow | undefined> {
    return this.deps.store.findAccount(personId);
  }

  /** Register or change the person's account. Errors: ERR_VALIDATION (a field is wrong). */
  async save(personId: string, fields: Record<string, string | undefined>): Promise<AccountRow> {
    const checked = checkAccount(fields);
    if (!checked.ok) throw new RenkeiError('ERR_VALIDATION', 'The account is not valid.');
    const now = this.deps.clock.now();
    const existing = await this.deps.store.findAccount(personId);
    const row: AccountRow = {
      personId,
      ...checked.account,
      registeredAt: existing?.registeredAt ?? now,
      updatedAt: now,
    };
    await this.deps.store.saveAccount(row);
    // Never the account itself in the log: only that one was saved.
    this.deps.logger.info({ changed: existing !== undefined }, 'public-funds account saved');
    return row;
  }

  async delete(personId: string): Promise<boolean> {
    const deleted = await this.deps.store.deleteAccount(personId);
    if (deleted) this.deps.logger.info('public-funds account deleted');
    return deleted;
  }
}
