/**
 * Service D's pages: the public-funds receiving account (公金受取口座: the form, its confirm step,
 * the registered account with change and delete), the payment panel of a notice, the payment page
 * (公金決済), and the demo payment provider's checkout page.
 */
import { html, page, type Html } from '../../../shared/web/html.ts';
import { pick, type Lang, type MessageTable } from '../../../shared/web/lang.ts';
import type { AccountRow, PaymentRow } from '../money-store.ts';
import { ACCOUNT_TYPES, type AccountProblems } from '../service/accounts.ts';
import type { Checkout } from '../service/demo-payment-provider.ts';
import { dateIn, dateTimeIn } from './dates.ts';
import { chrome, fill, logoutButton, type View } from './pages.ts';

export const MONEY_TEXT = {
  bankCode: { ja: '金融機関コード', en: 'Bank code' },
  bankCodeHint: { ja: '数字4桁（例：0001）', en: '4 digits (e.g. 0001)' },
  branchCode: { ja: '支店番号（店番）', en: 'Branch code' },
  branchCodeShort: { ja: '支店番号', en: 'Branch code' },
  branchCodeHint: { ja: '数字3桁（例：001）', en: '3 digits (e.g. 001)' },
  accountNumber: { ja: '口座番号', en: 'Account number' },
  accountNumberHint: { ja: '数字7桁（例：0012345）', en: '7 digits (e.g. 0012345)' },
  holderName: { ja: '口座名義（カナ）', en: 'Account holder (katakana)' },
  holderShort: { ja: '口座名義', en: 'Account holder' },
  holderNameHint: {
    ja: '全角カタカナ、通帳のとおりに（例：ヤマダ　タロウ）',
    en: 'Full-width katakana, as in the passbook (e.g. ヤマダ　タロウ)',
  },
  accountType: { ja: '預金種目', en: 'Account type' },
  about: {
    ja: '給付金などを受け取るための口座（公金受取口座）を、一つ登録できます。給付金を支給する機関は、情報提供ネットワークシステムを通じてこの口座を知ることができるので、機関ごとに届け出る必要はありません。',
    en: 'Register one account to receive public benefits. Institutions paying you a benefit get it through the information provision network, so you need not give it to each of them.',
  },
  formTitle: { ja: '公金受取口座の登録', en: 'Register your benefit account' },
  checkFields: { ja: '入力内容を確認してください。', en: 'Please check the fields below.' },
  next: { ja: '確認へ進む', en: 'Next' },
  backHome: { ja: 'ホームに戻る', en: 'Back to home' },
  confirmTitle: { ja: '登録内容の確認', en: 'Confirm your account' },
  confirmLead: {
    ja: 'この内容で登録します。よろしいですか。',
    en: 'This account will be registered. Is it right?',
  },
  register: { ja: '登録する', en: 'Register' },
  change: { ja: '修正する', en: 'Change' },
  accountTitle: { ja: '公金受取口座', en: 'Your benefit account' },
  saved: { ja: '公金受取口座を登録しました。', en: 'Your account is registered.' },
  registeredOn: { ja: '登録日 {day}、最終更新 {at}', en: 'Registered {day}; last changed {at}' },
  edit: { ja: '変更する', en: 'Change' },
  delete: { ja: '登録を削除する', en: 'Delete' },
  deleteHint: {
    ja: '削除すると、給付金を支給する機関が照会しても、口座は登録されていないと回答されます。',
    en: 'Once deleted, institutions asking are told that no account is registered.',
  },
  payment: { ja: 'お支払い', en: 'Payment' },
  pay: { ja: '支払う', en: 'Pay' },
  paidAt: { ja: 'お支払い済みです（{at}）。', en: 'Paid ({at}).' },
  amount: { ja: '金額', en: 'Amount' },
  yen: { ja: '{n}円', en: '¥{n}' },
  payee: { ja: '支払先', en: 'Payee' },
  due: { ja: '納付期限', en: 'Due' },
  reference: { ja: '整理番号', en: 'Reference' },
  paidTitle: { ja: 'お支払い済み', en: 'Paid' },
  paymentDone: { ja: 'お支払いが完了しました。', en: 'The payment is complete.' },
  paymentWasDone: { ja: 'このお支払いは完了しています。', en: 'This payment was made already.' },
  receipt: { ja: '受付番号', en: 'Receipt' },
  paidOn: { ja: '（{at}）', en: '({at}).' },
  paidTold: {
    ja: 'お支払いは、情報提供ネットワークシステムを通じて機関に伝えられます。',
    en: 'The institution is told through the network.',
  },
  payLead: {
    ja: '次のお支払いを、決済事業者のページで行います。',
    en: 'You pay the following at the payment provider’s page.',
  },
  goToProvider: { ja: '決済事業者のページへ進む', en: 'Go to the payment provider' },
  backToNotice: { ja: 'お知らせに戻る', en: 'Back to the notice' },
  checkoutTitle: { ja: 'お支払いの確認', en: 'Confirm the payment' },
  checkoutDemo: {
    ja: 'これはデモの決済事業者です。実際にお金は動きません。カード番号などは入力しません。',
    en: 'A demo payment provider: no money moves, and nothing such as a card number is asked.',
  },
  checkoutConfirm: { ja: '支払いを確定する', en: 'Confirm the payment' },
  checkoutEnded: {
    ja: 'この支払いは受け付け済みか、お支払い済みのため受け付けられません。',
    en: 'This checkout has ended; nothing more is charged.',
  },
} satisfies MessageTable;

const yen = (amount: number, lang: Lang) =>
  fill(MONEY_TEXT.yen[lang], { n: amount.toLocaleString(lang === 'en' ? 'en-US' : 'ja-JP') });

const FIELDS = [
  { name: 'bankCode', label: 'bankCode', hint: 'bankCodeHint', size: 4 },
  { name: 'branchCode', label: 'branchCode', hint: 'branchCodeHint', size: 3 },
  { name: 'accountNumber', label: 'accountNumber', hint: 'accountNumberHint', size: 7 },
  { name: 'holderName', label: 'holderName', hint: 'holderNameHint', size: 30 },
] as const;

function hidden(values: Record<string, string>): Html {
  return html`${Object.entries(values).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}" />`)}`;
}

function accountRows(
  lang: Lang,
  a: { bankCode: string; branchCode: string; accountType: string; accountNumber: string; holderName: string },
): Html {
  const t = pick(MONEY_TEXT, lang);
  const type = ACCOUNT_TYPES[a.accountType as keyof typeof ACCOUNT_TYPES];
  return html`<dl class="notice-meta" data-testid="account">
    <dt>${t.bankCode}</dt>
    <dd>${a.bankCode}</dd>
    <dt>${t.branchCodeShort}</dt>
    <dd>${a.branchCode}</dd>
    <dt>${t.accountType}</dt>
    <dd>${type ? type[lang === 'en' ? 1 : 0] : a.accountType}</dd>
    <dt>${t.accountNumber}</dt>
    <dd>${a.accountNumber}</dd>
    <dt>${t.holderShort}</dt>
    <dd>${a.holderName}</dd>
  </dl>`;
}

export function accountFormPage(
  view: View,
  args: {
    csrfToken: string;
    given?: Record<string, string> | undefined;
    problems?: AccountProblems | undefined;
  },
): string {
  const { lang } = view;
  const t = pick(MONEY_TEXT, lang);
  const given = args.given ?? {};
  const problems = args.problems ?? {};
  const error = (name: keyof AccountProblems) => {
    const p = problems[name];
    return p
      ? html`<p class="notice notice--error" id="${name}-error" data-testid="error-${name}">
          ${p[lang === 'en' ? 1 : 0]}
        </p>`
      : '';
  };
  const field = (f: (typeof FIELDS)[number]) =>
    html`<div class="form-field">
      <label for="${f.name}">${t[f.label]}</label>
      <span class="hint">${t[f.hint]}</span>
      ${error(f.name)}
      <input
        class="input"
        id="${f.name}"
        name="${f.name}"
        maxlength="${f.size}"
        ${f.name === 'holderName' ? '' : html`inputmode="numeric"`}
        value="${given[f.name] ?? ''}"
        ${problems[f.name] ? html`aria-invalid="true" aria-describedby="${f.name}-error"` : ''}
      />
    </div>`;
  return page({
    ...chrome(view),
    title: t.formTitle,
    headerAction: logoutButton(lang, args.csrfToken),
    body: html`<p class="lead">${t.about}</p>
      ${
        Object.keys(problems).length > 0
          ? html`<p class="notice notice--error" role="alert">${t.checkFields}</p>`
          : ''
      }
      <form method="post" action="/account/confirm" novalidate>
        <input type="hidden" name="_csrf" value="${args.csrfToken}" />
        ${FIELDS.slice(0, 2).map(field)}
        <div class="form-field">
          <fieldset>
            <legend>${t.accountType}</legend>
            ${error('accountType')}
            ${Object.entries(ACCOUNT_TYPES).map(
              ([value, names]) =>
                html`<label class="choice"
                  ><input
                    type="radio"
                    name="accountType"
                    value="${value}"
                    ${given.accountType === value ? 'checked' : ''}
                  />
                  ${names[lang === 'en' ? 1 : 0]}</label
                >`,
            )}
          </fieldset>
        </div>
        ${FIELDS.slice(2).map(field)}
        <p>
          <button class="button" type="submit" data-testid="account-next">${t.next}</button>
        </p>
      </form>
      <p>
        <a href="/">${t.backHome}</a>
      </p>`,
  });
}

export function accountConfirmPage(
  view: View,
  args: { csrfToken: string; values: Record<string, string> },
): string {
  const t = pick(MONEY_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: t.confirmTitle,
    headerAction: logoutButton(view.lang, args.csrfToken),
    body: html`<p class="lead">${t.confirmLead}</p>
      ${accountRows(view.lang, args.values as never)}
      <form method="post" action="/account">
        <input type="hidden" name="_csrf" value="${args.csrfToken}" />
        ${hidden(args.values)}
        <button class="button" type="submit" data-testid="account-register">${t.register}</button>
      </form>
      <form method="post" action="/account/edit">
        <input type="hidden" name="_csrf" value="${args.csrfToken}" />
        ${hidden(args.values)}
        <button class="button button--secondary" type="submit">${t.change}</button>
      </form>`,
  });
}

export function accountPage(
  view: View,
  args: { csrfToken: string; account: AccountRow; said?: 'saved' | undefined },
): string {
  const { account } = args;
  const { lang } = view;
  const t = pick(MONEY_TEXT, lang);
  return page({
    ...chrome(view),
    title: t.accountTitle,
    headerAction: logoutButton(lang, args.csrfToken),
    body: html`${
        args.said === 'saved'
          ? html`<p class="notice notice--success" role="status" data-testid="account-saved">${t.saved}</p>`
          : ''
      }
      <p class="lead">${t.about}</p>
      ${accountRows(lang, account)}
      <p class="hint">
        ${fill(t.registeredOn, {
          day: dateIn(lang, account.registeredAt),
          at: dateTimeIn(lang, account.updatedAt),
        })}
      </p>
      <p>
        <a class="button" href="/account/edit">${t.edit}</a>
      </p>
      <form method="post" action="/account/delete">
        <input type="hidden" name="_csrf" value="${args.csrfToken}" />
        <button class="button button--secondary" type="submit" data-testid="account-delete">
          ${t.delete}
        </button>
      </form>
      <p class="hint">${t.deleteHint}</p>
      <p>
        <a href="/">${t.backHome}</a>
      </p>`,
  });
}

/** The notice page's payment panel: what is asked, and 「支払う」 or that it is paid. */
export function paymentPanel(lang: Lang, payment: PaymentRow): Html {
  const t = pick(MONEY_TEXT, lang);
  return html`<section class="notice" data-testid="payment-panel" aria-labelledby="payment-title">
    <h2 id="payment-title">${t.payment}</h2>
    ${paymentRows(lang, payment)}
    ${
      payment.paidAt === undefined
        ? html`<p>
            <a class="button" href="/payments/${payment.noticeId}" data-testid="pay">${t.pay}</a>
          </p>`
        : html`<p class="notice notice--success" data-testid="payment-status">
            ${fill(t.paidAt, { at: dateTimeIn(lang, payment.paidAt) })}
          </p>`
    }
  </section>`;
}

function paymentRows(
  lang: Lang,
  payment: { amount: number; payee: string; dueDate: string; reference: string },
): Html {
  const t = pick(MONEY_TEXT, lang);
  return html`<dl class="notice-meta">
    <dt>${t.amount}</dt>
    <dd data-testid="payment-amount">${yen(payment.amount, lang)}</dd>
    <dt>${t.payee}</dt>
    <dd>${payment.payee}</dd>
    <dt>${t.due}</dt>
    <dd>${dateIn(lang, payment.dueDate)}</dd>
    <dt>${t.reference}</dt>
    <dd>${payment.reference}</dd>
  </dl>`;
}

export function paymentPage(
  view: View,
  args: { csrfToken: string; payment: PaymentRow; done?: boolean },
): string {
  const { payment } = args;
  const { lang } = view;
  const t = pick(MONEY_TEXT, lang);
  const paid = payment.paidAt !== undefined;
  return page({
    ...chrome(view),
    title: paid ? t.paidTitle : t.payment,
    headerAction: logoutButton(lang, args.csrfToken),
    body: html`${
        paid
          ? html`<p class="notice notice--success" role="status" data-testid="payment-status">
              ${args.done ? t.paymentDone : t.paymentWasDone} ${t.receipt}
              <strong data-testid="payment-receipt">${payment.receipt ?? ''}</strong>
              ${fill(t.paidOn, { at: dateTimeIn(lang, payment.paidAt ?? new Date()) })} ${t.paidTold}
            </p>`
          : html`<p class="lead">${t.payLead}</p>`
      }
      ${paymentRows(lang, payment)}
      ${
        paid
          ? ''
          : html`<form method="post" action="/payments/${payment.noticeId}">
              <input type="hidden" name="_csrf" value="${args.csrfToken}" />
              <button class="button" type="submit" data-testid="pay-go">${t.goToProvider}</button>
            </form>`
      }
      <p>
        <a href="/notices/${payment.noticeId}">${t.backToNotice}</a>
      </p>`,
  });
}

const PROVIDER = { name: 'デモ決済サービス', nameEn: 'Demo payment provider', href: '#' };

export function checkoutPage(view: View, checkout: Checkout): string {
  const t = pick(MONEY_TEXT, view.lang);
  return page({
    ...chrome(view),
    service: PROVIDER,
    title: t.checkoutTitle,
    body: html`<p class="notice">${t.checkoutDemo}</p>
      ${paymentRows(view.lang, checkout)}
      ${
        checkout.state === 'open'
          ? html`<form method="post" action="/demo-pay/${checkout.checkoutId}">
              <input type="hidden" name="token" value="${checkout.formToken}" />
              <button class="button" type="submit" data-testid="checkout-confirm">
                ${t.checkoutConfirm}
              </button>
            </form>`
          : html`<p class="notice notice--error" role="alert" data-testid="checkout-ended">
              ${t.checkoutEnded}
            </p>`
      }`,
  });
}
