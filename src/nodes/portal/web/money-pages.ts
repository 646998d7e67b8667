/**
 * Service D's pages, Japanese first: the public-funds receiving account (公金受取口座: the form, its
 * confirm step, the registered account with change and delete), the payment panel of a notice, the
 * payment page (公金決済), and the demo payment provider's checkout page.
 */
import { html, page, type Html } from '../../../shared/web/html.ts';
import type { AccountRow, PaymentRow } from '../money-store.ts';
import { ACCOUNT_TYPES, type AccountProblems } from '../service/accounts.ts';
import type { Checkout } from '../service/demo-payment-provider.ts';
import { japaneseDate, japaneseDateTime } from './dates.ts';

const SERVICE = { name: 'マイナポータル', nameEn: 'Myna Portal', href: '/' };

function logout(csrfToken: string): Html {
  return html`<form method="post" action="/logout">
    <input type="hidden" name="_csrf" value="${csrfToken}" />
    <button class="button button--secondary" type="submit">ログアウト <span lang="en">Log out</span></button>
  </form>`;
}

const yen = (amount: number) => `${amount.toLocaleString('ja-JP')}円`;

const FIELDS = [
  { name: 'bankCode', label: '金融機関コード', en: 'Bank code', hint: '数字4桁（例：0001）', size: 4 },
  { name: 'branchCode', label: '支店番号（店番）', en: 'Branch code', hint: '数字3桁（例：001）', size: 3 },
  { name: 'accountNumber', label: '口座番号', en: 'Account number', hint: '数字7桁（例：0012345）', size: 7 },
  {
    name: 'holderName',
    label: '口座名義（カナ）',
    en: 'Account holder (katakana)',
    hint: '全角カタカナ、通帳のとおりに（例：ヤマダ　タロウ）',
    size: 30,
  },
] as const;

function hidden(values: Record<string, string>): Html {
  return html`${Object.entries(values).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}" />`)}`;
}

function accountRows(a: {
  bankCode: string;
  branchCode: string;
  accountType: string;
  accountNumber: string;
  holderName: string;
}): Html {
  const type = ACCOUNT_TYPES[a.accountType as keyof typeof ACCOUNT_TYPES];
  return html`<dl class="notice-meta" data-testid="account">
    <dt>金融機関コード <span lang="en">Bank code</span></dt>
    <dd>${a.bankCode}</dd>
    <dt>支店番号 <span lang="en">Branch code</span></dt>
    <dd>${a.branchCode}</dd>
    <dt>預金種目 <span lang="en">Type</span></dt>
    <dd>${type ? type[0] : a.accountType}</dd>
    <dt>口座番号 <span lang="en">Account number</span></dt>
    <dd>${a.accountNumber}</dd>
    <dt>口座名義 <span lang="en">Holder</span></dt>
    <dd>${a.holderName}</dd>
  </dl>`;
}

const ABOUT = html`<p class="lead">給付金などを受け取るための口座（公金受取口座）を、一つ登録できます。</p>
  <p class="en" lang="en">
    Register one account to receive public benefits. Institutions paying you a benefit get it through the
    information provision network, so you need not give it to each of them.
  </p>`;

export function accountFormPage(args: {
  csrfToken: string;
  given?: Record<string, string> | undefined;
  problems?: AccountProblems | undefined;
}): string {
  const given = args.given ?? {};
  const problems = args.problems ?? {};
  const error = (name: keyof AccountProblems) => {
    const p = problems[name];
    return p
      ? html`<p class="notice notice--error" id="${name}-error" data-testid="error-${name}">
          ${p[0]}<br /><span class="en" lang="en">${p[1]}</span>
        </p>`
      : '';
  };
  return page({
    title: '公金受取口座の登録',
    titleEn: 'Register your benefit account',
    service: SERVICE,
    headerAction: logout(args.csrfToken),
    body: html`${ABOUT}
      ${
        Object.keys(problems).length > 0
          ? html`<p class="notice notice--error" role="alert">
              入力内容を確認してください。<span class="en" lang="en">Please check the fields below.</span>
            </p>`
          : ''
      }
      <form method="post" action="/account/confirm" novalidate>
        <input type="hidden" name="_csrf" value="${args.csrfToken}" />
        ${FIELDS.slice(0, 2).map(
          (f) =>
            html`<div class="form-field">
              <label for="${f.name}">${f.label} <span lang="en">${f.en}</span></label>
              <span class="hint">${f.hint}</span>
              ${error(f.name)}
              <input
                class="input"
                id="${f.name}"
                name="${f.name}"
                inputmode="numeric"
                maxlength="${f.size}"
                value="${given[f.name] ?? ''}"
                ${problems[f.name] ? html`aria-invalid="true" aria-describedby="${f.name}-error"` : ''}
              />
            </div>`,
        )}
        <div class="form-field">
          <fieldset>
            <legend>預金種目 <span lang="en">Account type</span></legend>
            ${error('accountType')}
            ${Object.entries(ACCOUNT_TYPES).map(
              ([value, [ja, en]]) =>
                html`<label class="choice"
                  ><input
                    type="radio"
                    name="accountType"
                    value="${value}"
                    ${given.accountType === value ? 'checked' : ''}
                  />
                  ${ja} <span lang="en">${en}</span></label
                >`,
            )}
          </fieldset>
        </div>
        ${FIELDS.slice(2).map(
          (f) =>
            html`<div class="form-field">
              <label for="${f.name}">${f.label} <span lang="en">${f.en}</span></label>
              <span class="hint">${f.hint}</span>
              ${error(f.name)}
              <input
                class="input"
                id="${f.name}"
                name="${f.name}"
                maxlength="${f.size}"
                ${f.name === 'accountNumber' ? html`inputmode="numeric"` : ''}
                value="${given[f.name] ?? ''}"
                ${problems[f.name] ? html`aria-invalid="true" aria-describedby="${f.name}-error"` : ''}
              />
            </div>`,
        )}
        <p>
          <button class="button" type="submit" data-testid="account-next">
            確認へ進む <span lang="en">Next</span>
          </button>
        </p>
      </form>
      <p>
        <a href="/">ホームに戻る <span lang="en">Back to home</span></a>
      </p>`,
  });
}

export function accountConfirmPage(args: { csrfToken: string; values: Record<string, string> }): string {
  return page({
    title: '登録内容の確認',
    titleEn: 'Confirm your account',
    service: SERVICE,
    headerAction: logout(args.csrfToken),
    body: html`<p class="lead">この内容で登録します。よろしいですか。</p>
      <p class="en" lang="en">This account will be registered. Is it right?</p>
      ${accountRows(args.values as never)}
      <form method="post" action="/account">
        <input type="hidden" name="_csrf" value="${args.csrfToken}" />
        ${hidden(args.values)}
        <button class="button" type="submit" data-testid="account-register">
          登録する <span lang="en">Register</span>
        </button>
      </form>
      <form method="post" action="/account/edit">
        <input type="hidden" name="_csrf" value="${args.csrfToken}" />
        ${hidden(args.values)}
        <button class="button button--secondary" type="submit">修正する <span lang="en">Change</span></button>
      </form>`,
  });
}

export function accountPage(args: {
  csrfToken: string;
  account: AccountRow;
  said?: 'saved' | undefined;
}): string {
  const { account } = args;
  return page({
    title: '公金受取口座',
    titleEn: 'Your benefit account',
    service: SERVICE,
    headerAction: logout(args.csrfToken),
    body: html`${
        args.said === 'saved'
          ? html`<p class="notice notice--success" role="status" data-testid="account-saved">
              公金受取口座を登録しました。<span class="en" lang="en">Your account is registered.</span>
            </p>`
          : ''
      }
      ${ABOUT} ${accountRows(account)}
      <p class="hint">
        登録日 ${japaneseDate(account.registeredAt)}、最終更新 ${japaneseDateTime(account.updatedAt)}
      </p>
      <p>
        <a class="button" href="/account/edit">変更する <span lang="en">Change</span></a>
      </p>
      <form method="post" action="/account/delete">
        <input type="hidden" name="_csrf" value="${args.csrfToken}" />
        <button class="button button--secondary" type="submit" data-testid="account-delete">
          登録を削除する <span lang="en">Delete</span>
        </button>
      </form>
      <p class="hint">
        削除すると、給付金を支給する機関が照会しても、口座は登録されていないと回答されます。<br /><span
          lang="en"
          >Once deleted, institutions asking are told that no account is registered.</span
        >
      </p>
      <p>
        <a href="/">ホームに戻る <span lang="en">Back to home</span></a>
      </p>`,
  });
}

/** The notice page's payment panel: what is asked, and 「支払う」 or that it is paid. */
export function paymentPanel(payment: PaymentRow): Html {
  return html`<section class="notice" data-testid="payment-panel" aria-labelledby="payment-title">
    <h2 id="payment-title">お支払い <span lang="en">Payment</span></h2>
    ${paymentRows(payment)}
    ${
      payment.paidAt === undefined
        ? html`<p>
            <a class="button" href="/payments/${payment.noticeId}" data-testid="pay"
              >支払う <span lang="en">Pay</span></a
            >
          </p>`
        : html`<p class="notice notice--success" data-testid="payment-status">
            お支払い済みです（${japaneseDateTime(payment.paidAt)}）。<span class="en" lang="en">Paid.</span>
          </p>`
    }
  </section>`;
}

function paymentRows(payment: { amount: number; payee: string; dueDate: string; reference: string }): Html {
  return html`<dl class="notice-meta">
    <dt>金額 <span lang="en">Amount</span></dt>
    <dd data-testid="payment-amount">${yen(payment.amount)}</dd>
    <dt>支払先 <span lang="en">Payee</span></dt>
    <dd>${payment.payee}</dd>
    <dt>納付期限 <span lang="en">Due</span></dt>
    <dd>${japaneseDate(payment.dueDate)}</dd>
    <dt>整理番号 <span lang="en">Reference</span></dt>
    <dd>${payment.reference}</dd>
  </dl>`;
}

export function paymentPage(args: { csrfToken: string; payment: PaymentRow; done?: boolean }): string {
  const { payment } = args;
  const paid = payment.paidAt !== undefined;
  return page({
    title: paid ? 'お支払い済み' : 'お支払い',
    titleEn: paid ? 'Paid' : 'Payment',
    service: SERVICE,
    headerAction: logout(args.csrfToken),
    body: html`${
        paid
          ? html`<p class="notice notice--success" role="status" data-testid="payment-status">
              ${args.done ? 'お支払いが完了しました。' : 'このお支払いは完了しています。'} 受付番号
              <strong data-testid="payment-receipt">${payment.receipt ?? ''}</strong>
              （${japaneseDateTime(payment.paidAt ?? new Date())}）<br /><span class="en" lang="en"
                >Paid. The institution is told through the network.</span
              >
            </p>`
          : html`<p class="lead">次のお支払いを、決済事業者のページで行います。</p>
              <p class="en" lang="en">You pay at the payment provider’s page.</p>`
      }
      ${paymentRows(payment)}
      ${
        paid
          ? ''
          : html`<form method="post" action="/payments/${payment.noticeId}">
              <input type="hidden" name="_csrf" value="${args.csrfToken}" />
              <button class="button" type="submit" data-testid="pay-go">
                決済事業者のページへ進む <span lang="en">Go to the payment provider</span>
              </button>
            </form>`
      }
      <p>
        <a href="/notices/${payment.noticeId}">お知らせに戻る <span lang="en">Back to the notice</span></a>
      </p>`,
  });
}

const PROVIDER = { name: 'デモ決済サービス', nameEn: 'Demo payment provider', href: '#' };

export function checkoutPage(checkout: Checkout): string {
  return page({
    title: 'お支払いの確認',
    titleEn: 'Confirm the payment',
    service: PROVIDER,
    body: html`<p class="notice">
        これはデモの決済事業者です。実際にお金は動きません。カード番号などは入力しません。<br /><span
          class="en"
          lang="en"
          >A demo payment provider: no money moves, and nothing such as a card number is asked.</span
        >
      </p>
      ${paymentRows(checkout)}
      ${
        checkout.state === 'open'
          ? html`<form method="post" action="/demo-pay/${checkout.checkoutId}">
              <input type="hidden" name="token" value="${checkout.formToken}" />
              <button class="button" type="submit" data-testid="checkout-confirm">
                支払いを確定する <span lang="en">Confirm the payment</span>
              </button>
            </form>`
          : html`<p class="notice notice--error" role="alert" data-testid="checkout-ended">
              この支払いは受け付け済みか、お支払い済みのため受け付けられません。<br /><span lang="en"
                >This checkout has ended; nothing more is charged.</span
              >
            </p>`
      }`,
  });
}
