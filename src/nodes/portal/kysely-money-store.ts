/**
 * Service D's storage (money-store.ts) in dialect-agnostic Kysely, on the portal's database (tables
 * of migration 0005-public-funds). Times are ISO strings, as in kysely-store.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { ItemNo, Outcome } from '../../protocol/identifiers.ts';
import type { HeldCopy, ProviderRecord } from '../../protocol/provider.ts';
import type { AccountRow, AccountType, MoneyStore, PaymentRow } from './money-store.ts';
import { provisionEvent } from '../../protocol/provider-record-events.ts';
import type { KyselyPortalRecordLog } from './record-log-store.ts';

/** The item number of 公金受取口座情報 (legal/items.yaml). */
export const ACCOUNT_ITEM_NO = 70;

interface AccountsTable {
  person_id: string;
  bank_code: string;
  branch_code: string;
  account_type: string;
  account_number: string;
  holder_name: string;
  registered_at: string;
  updated_at: string;
}

interface PaymentsTable {
  notice_id: string;
  person_id: string;
  sender_id: string;
  amount: number;
  due_date: string;
  payee: string;
  reference: string;
  paid_at: string | null;
  receipt: string | null;
  confirmed_at: string | null;
}

interface ProviderRecordsTable {
  record_id: string;
  processing_number: string;
  requester_id: string;
  person_code: string;
  clause_no: string;
  procedure_id: string;
  item_nos: string;
  provided_item_nos: string;
  requested_at: string;
  answered_at: string;
  outcome: string;
  reason: string | null;
  non_disclosure: number;
  recorded_at: string;
}

export interface MoneyDatabase {
  public_funds_accounts: AccountsTable;
  payments: PaymentsTable;
  provider_records: ProviderRecordsTable;
  persons: { person_id: string; person_code: string; created_at: string };
}

const iso = (date: Date) => date.toISOString();

function toAccount(row: Selectable<AccountsTable>): AccountRow {
  return {
    personId: row.person_id,
    bankCode: row.bank_code,
    branchCode: row.branch_code,
    accountType: row.account_type as AccountType,
    accountNumber: row.account_number,
    holderName: row.holder_name,
    registeredAt: new Date(row.registered_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toPayment(row: Selectable<PaymentsTable>): PaymentRow {
  return {
    noticeId: row.notice_id,
    personId: row.person_id,
    senderId: row.sender_id,
    amount: Number(row.amount),
    dueDate: row.due_date,
    payee: row.payee,
    reference: row.reference,
    paidAt: row.paid_at === null ? undefined : new Date(row.paid_at),
    receipt: row.receipt ?? undefined,
    confirmedAt: row.confirmed_at === null ? undefined : new Date(row.confirmed_at),
  };
}

function toProviderRecord(row: Selectable<ProviderRecordsTable>): ProviderRecord {
  return {
    processingNumber: row.processing_number,
    requesterId: row.requester_id,
    personCode: row.person_code,
    clauseNo: row.clause_no,
    procedureId: row.procedure_id,
    itemNos: JSON.parse(row.item_nos) as ItemNo[],
    providedItemNos: JSON.parse(row.provided_item_nos) as ItemNo[],
    requestedAt: row.requested_at,
    answeredAt: row.answered_at,
    outcome: row.outcome as Outcome,
    ...(row.reason === null ? {} : { reason: row.reason }),
    nonDisclosure: Number(row.non_disclosure) === 1,
    recordedAt: row.recorded_at,
  };
}

/** The account as the layout of item 70 has it (legal/items.yaml): what a requester receives. */
export function accountCopy(account: AccountRow): HeldCopy {
  return {
    itemNo: ACCOUNT_ITEM_NO,
    data: {
      bankCode: account.bankCode,
      branchCode: account.branchCode,
      accountType: account.accountType,
      accountNumber: account.accountNumber,
      holderName: account.holderName,
      registeredOn: iso(account.registeredAt).slice(0, 10),
    },
  };
}

export function createKyselyMoneyStore(db: Kysely<MoneyDatabase>, log: KyselyPortalRecordLog): MoneyStore {
  // Each provision with its event (the provider events every provider logs) in one transaction.
  const recordProvisions = async (records: readonly ProviderRecord[]) => {
    if (records.length === 0) return;
    const events = records.map(provisionEvent);
    await log.write(async (trx, append) => {
      await (trx as unknown as Kysely<MoneyDatabase>)
        .insertInto('provider_records')
        .values(records.map(providerRow))
        .execute();
      await append(events);
    });
  };
  const copiesFor = async (personCodes: readonly string[]) => {
    if (personCodes.length === 0) return [];
    return db
      .selectFrom('persons')
      .leftJoin('public_funds_accounts', 'public_funds_accounts.person_id', 'persons.person_id')
      .select([
        'persons.person_code',
        'public_funds_accounts.person_id',
        'public_funds_accounts.bank_code',
        'public_funds_accounts.branch_code',
        'public_funds_accounts.account_type',
        'public_funds_accounts.account_number',
        'public_funds_accounts.holder_name',
        'public_funds_accounts.registered_at',
        'public_funds_accounts.updated_at',
      ])
      .where('persons.person_code', 'in', personCodes)
      .execute();
  };
  type Joined = Awaited<ReturnType<typeof copiesFor>>[number];
  const held = (row: Joined, itemNos: readonly ItemNo[]): HeldCopy[] =>
    row.person_id === null || !itemNos.includes(ACCOUNT_ITEM_NO)
      ? []
      : [
          accountCopy(
            toAccount({
              person_id: row.person_id,
              bank_code: row.bank_code ?? '',
              branch_code: row.branch_code ?? '',
              account_type: row.account_type ?? '',
              account_number: row.account_number ?? '',
              holder_name: row.holder_name ?? '',
              registered_at: row.registered_at ?? '',
              updated_at: row.updated_at ?? '',
            }),
          ),
        ];
  const providerRow = (record: ProviderRecord): ProviderRecordsTable => ({
    record_id: randomUUID(),
    processing_number: record.processingNumber,
    requester_id: record.requesterId,
    person_code: record.personCode,
    clause_no: record.clauseNo,
    procedure_id: record.procedureId,
    item_nos: JSON.stringify(record.itemNos),
    provided_item_nos: JSON.stringify(record.providedItemNos),
    requested_at: record.requestedAt,
    answered_at: record.answeredAt,
    outcome: record.outcome,
    reason: record.reason ?? null,
    non_disclosure: record.nonDisclosure ? 1 : 0,
    recorded_at: record.recordedAt,
  });

  return {
    async findCopiesByCode(personCode, itemNos) {
      const [row] = await copiesFor([personCode]);
      return row && held(row, itemNos);
    },
    async findCopiesByCodes(personCodes, itemNos) {
      const rows = await copiesFor(personCodes);
      return new Map(rows.map((row) => [row.person_code, held(row, itemNos)]));
    },
    recordProvision: (record) => recordProvisions([record]),
    recordProvisions,
    async listProviderRecordsByProcessingNumber(after, limit, only) {
      let query = db.selectFrom('provider_records').selectAll();
      if (only !== undefined) query = query.where('processing_number', '=', only);
      if (after !== undefined) query = query.where('processing_number', '>', after);
      const rows = await query.orderBy('processing_number').orderBy('recorded_at').execute();
      // The latest event of each processing number is the record (as the institution's projection).
      const latest = new Map<string, Selectable<ProviderRecordsTable>>();
      for (const row of rows) latest.set(row.processing_number, row);
      return [...latest.values()].slice(0, limit).map(toProviderRecord);
    },

    async findAccount(personId) {
      const row = await db
        .selectFrom('public_funds_accounts')
        .selectAll()
        .where('person_id', '=', personId)
        .executeTakeFirst();
      return row && toAccount(row);
    },
    async saveAccount(row) {
      const values = {
        person_id: row.personId,
        bank_code: row.bankCode,
        branch_code: row.branchCode,
        account_type: row.accountType,
        account_number: row.accountNumber,
        holder_name: row.holderName,
        registered_at: iso(row.registeredAt),
        updated_at: iso(row.updatedAt),
      };
      await db
        .insertInto('public_funds_accounts')
        .values(values)
        .onConflict((oc) =>
          oc.column('person_id').doUpdateSet({
            bank_code: values.bank_code,
            branch_code: values.branch_code,
            account_type: values.account_type,
            account_number: values.account_number,
            holder_name: values.holder_name,
            updated_at: values.updated_at,
          }),
        )
        .execute();
    },
    async deleteAccount(personId) {
      const result = await db
        .deleteFrom('public_funds_accounts')
        .where('person_id', '=', personId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async insertPayment(row) {
      await db
        .insertInto('payments')
        .values({
          notice_id: row.noticeId,
          person_id: row.personId,
          sender_id: row.senderId,
          amount: row.amount,
          due_date: row.dueDate,
          payee: row.payee,
          reference: row.reference,
          paid_at: null,
          receipt: null,
          confirmed_at: null,
        })
        .onConflict((oc) => oc.column('notice_id').doNothing())
        .execute();
    },
    async findPayment(personId, noticeId) {
      const row = await db
        .selectFrom('payments')
        .selectAll()
        .where('person_id', '=', personId)
        .where('notice_id', '=', noticeId)
        .executeTakeFirst();
      return row && toPayment(row);
    },
    async markPaid(noticeId, paidAt, receipt) {
      const result = await db
        .updateTable('payments')
        .set({ paid_at: iso(paidAt), receipt })
        .where('notice_id', '=', noticeId)
        .where('paid_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async markConfirmed(noticeId, at) {
      await db
        .updateTable('payments')
        .set({ confirmed_at: iso(at) })
        .where('notice_id', '=', noticeId)
        .where('confirmed_at', 'is', null)
        .execute();
    },
    async listUnconfirmedPayments() {
      const rows = await db
        .selectFrom('payments')
        .selectAll()
        .where('paid_at', 'is not', null)
        .where('confirmed_at', 'is', null)
        .orderBy('paid_at')
        .execute();
      return rows.map(toPayment);
    },
  };
}
