import type { z } from 'zod';
import type { Logger } from './logger.ts';
import type { SimulatorInstance, SimulatorOptions } from './simulator-contract.ts';
import type { OrderStatus } from './state-machine.ts';

// The simulators' side of the contract lives in its own file; every provider imports it from here too.
export * from './simulator-contract.ts';

/**
 * The contract every payment provider implements (docs/architecture.md#providers-are-plugins). One input object and one output
 * object per method. A decline is a result (`outcome: 'failed'`), never an exception; exceptions
 * are for faults: the network, a protocol violation, bad configuration.
 */

/** Optional abilities a provider declares; core only calls a method whose capability is present. */
export type ProviderCapability = 'refund' | 'cancel' | 'listTransactions';

export type CallbackKind = 'notify' | 'return';

/** One line of an order, in integer minor units. */
export interface OrderItemSnapshot {
  sku: string;
  name: string;
  unitAmount: number;
  quantity: number;
  amount: number;
}

/** What a provider may know about an order. Amounts are integer minor units of `currency`. */
export interface OrderSnapshot {
  id: string;
  orderNo: string;
  subject: string;
  currency: string;
  amount: number;
  method: string;
  items: readonly OrderItemSnapshot[];
  providerTradeNo: string | null;
  /**
   * The order's status when the snapshot was taken: a provider that completes payments itself
   * (a confirm the merchant must call) completes one only for an order still waiting for it.
   */
  status: OrderStatus;
  /**
   * Which try at the provider this is: 1, then 2, 3… each time the buyer pays again after a failure,
   * for a provider with `payAgain: 'new-attempt'` (its reference for the trade is built from it).
   */
  attempt: number;
  createdAt: Date;
  expiresAt: Date;
  /** The merchant's page the buyer goes back to; shown on result pages, never trusted for state. */
  returnUrl: string | null;
}

/** Where the provider must send its server-to-server notify and the buyer's browser. */
export interface CallbackUrls {
  notifyUrl: string;
  returnUrl: string;
}

export interface CreatePaymentInput {
  order: OrderSnapshot;
  urls: CallbackUrls;
}

export interface AtmInstructions {
  bankCode: string;
  account: string;
  /** Integer minor units. */
  amount: number;
  /** ISO 8601 instant after which the account no longer takes transfers. */
  deadline: string;
  /** A WebATM or bank page where the buyer can transfer online, when the provider has one. */
  webAtmUrl?: string;
}

/**
 * A payment the buyer makes at a convenience store's counter or kiosk (超商代碼 / 超商條碼): a code
 * keyed in at the kiosk (7-ELEVEN ibon, FamilyMart FamiPort…), or barcodes the cashier scans; either
 * or both, as the provider issues them.
 */
export interface CvsInstructions {
  /** The payment code to key in at the store's kiosk; absent when only barcodes are issued. */
  code?: string;
  /** The barcodes' texts in the order they are printed (usually three, Code 39); absent when only a code is issued. */
  barcodes?: string[];
  /** The store chains that take it, as buyers know them ('7-ELEVEN', 'FamilyMart'…), when the provider says. */
  stores?: string[];
  /** Integer minor units. */
  amount: number;
  /** ISO 8601 instant after which the stores no longer take it. */
  deadline: string;
}

/** What the buyer does next (docs/architecture.md#next-actions). */
export type NextAction =
  | { type: 'redirect'; url: string }
  | { type: 'form'; method: 'POST' | 'GET'; url: string; fields: Record<string, string> }
  | { type: 'instructions'; atm: AtmInstructions }
  | { type: 'instructions'; cvs: CvsInstructions };

export type CreatePaymentResult =
  | {
      outcome: 'pending';
      action: NextAction;
      providerTradeNo?: string | null;
      /**
       * The provider's own deadline when it differs from the order's (an ATM account that stays
       * open to the end of a Taipei day): the order takes it, so paygate never expires an order the
       * provider would still take money for.
       */
      expiresAt?: Date;
    }
  | { outcome: 'failed'; code: string; message: string };

/** What a provider says happened to a payment, normalised. */
export type PaymentOutcome = 'pending' | 'paid' | 'failed' | 'closed' | 'refunded';

export interface PaymentFacts {
  orderNo: string;
  outcome: PaymentOutcome;
  /** Integer minor units as the provider reported them (converted at the provider's edge). */
  amount: number;
  currency: string;
  providerTradeNo?: string | null;
  paidAt?: Date | null;
  /** The provider's code and message for a decline or a close. */
  code?: string;
  message?: string;
  /** A test or simulated payment (a provider's "simulate paid" flag): never counted as paid. */
  simulated?: boolean;
  /**
   * How much of the payment the provider says has gone back, in all (minor units), when it says:
   * with outcome `refunded` (absent: all of it) or `paid` (a partial refund). More than paygate
   * made is recorded as a refund made at the provider (core/decide.ts).
   */
  refundedAmount?: number;
  /** The provider's number of the refund that news is about, when it gives one. */
  providerRefundNo?: string | null;
  /**
   * With outcome `pending`: what the buyer must do now, when the provider hands it out after
   * create (an ATM account issued by a notify once the buyer picked a bank on the provider's page).
   * It replaces the order's next action; `expiresAt` (the account's own deadline) replaces the
   * order's deadline.
   */
  action?: NextAction;
  expiresAt?: Date;
  /**
   * The attempt (OrderSnapshot.attempt) the news is about, where the provider's reference tells it
   * (`payAgain: 'new-attempt'`). A failure, close or "still waiting" of another attempt than the
   * order's changes nothing; a payment by one still counts, and the order's attempt becomes it.
   */
  attempt?: number;
}

/** A provider request exactly as it arrived on the unified endpoint. */
export interface CallbackRequest {
  kind: CallbackKind;
  httpMethod: string;
  contentType: string;
  /** The body as received, undecoded beyond UTF-8: signatures are checked against it. */
  rawBody: string;
  /** The raw query string without the leading `?`. */
  rawQuery: string;
  headers: Readonly<Record<string, string>>;
}

/** Cheap, unverified reading of a callback: enough to store it and find duplicates. */
export interface CallbackEnvelope {
  /** notify_id, PayToken, TradeNo+RtnCode...; null when the request has none. */
  dedupeKey: string | null;
  /** The headers worth keeping for audit (lower-case names). */
  headers?: Record<string, string>;
  /**
   * The order number the request names, unverified. Read by core only for a notify the browser
   * brings (PaymentProvider.notifyFrom): core hands that order to verifyCallback (VerifyContext).
   */
  orderNo?: string | null;
  /**
   * The request came through the buyer's browser although the provider's server sends this
   * provider's other notifies (a signed page-to-page post such as NewebPay's CustomerURL): proving it
   * gives the sender's address no trust (core/callback-guard.ts), as for a provider whose every
   * notify the browser brings.
   */
  fromBrowser?: boolean;
}

/**
 * What core knows beside the request, for a notify the browser brings (docs/architecture.md#a-notify-the-browser-brings):
 * the order the request names, when it is this account's, as it stands now (null when there is
 * none). The request proves nothing; the adapter checks it against this order (the provider's
 * trade number stored at create) and asks the provider with the order's own amount and currency,
 * never with values from the request.
 */
export interface VerifyContext {
  order: OrderSnapshot | null;
}

export type CallbackVerification =
  | {
      verified: true;
      facts: PaymentFacts;
      /**
       * The verified message is of a kind only the buyer's browser brings (NewebPay's CustomerURL
       * code issued): as `CallbackEnvelope.fromBrowser`, but read from what the signature covers, so
       * a buyer who drops an unsigned mark from the URL still earns no trust.
       */
      fromBrowser?: boolean;
    }
  /**
   * `cached`: the provider answered from what it already learned (a token the provider's server
   * said it does not know, asked again): counted apart, no call was made.
   */
  | { verified: false; reason: string; cached?: boolean };

/** What the provider wants to hear back, in its own words ("success", {"Status":"S"}, "1|OK"). */
export interface CallbackReply {
  status: number;
  contentType: string;
  body: string;
  /** Further response headers: a `location` sending a browser on (a notify that comes from the browser). */
  headers?: Readonly<Record<string, string>>;
}

/**
 * - `ack`: we have it; stop sending.
 * - `retry`: we could not record it (database down); send it again later.
 * - `reject`: it failed verification; most providers should not retry, but some only know "not ok".
 */
export type ReplyKind = 'ack' | 'retry' | 'reject';

export interface QueryInput {
  order: OrderSnapshot;
}

export type QueryResult = { found: true; facts: PaymentFacts } | { found: false };

export interface RefundInput {
  order: OrderSnapshot;
  /** Our refund number: the provider's idempotency key for this refund. */
  refundNo: string;
  amount: number;
  reason?: string;
}

export type RefundResult =
  | { outcome: 'succeeded' | 'pending'; providerRefundNo?: string | null }
  | { outcome: 'failed'; code: string; message: string };

export interface CancelInput {
  order: OrderSnapshot;
}

/**
 * - `cancelled`: closed at the provider; no payment can land any more.
 * - `unsupported`: there is nothing the provider can close for this payment (an ATM account that
 *   simply runs out); paygate cancels locally, and a payment that still lands is paid + attention.
 * - `not_cancellable`: the provider refused (already paid, say): the order is not cancelled.
 */
export type CancelResult =
  | { outcome: 'cancelled' }
  | { outcome: 'unsupported'; message: string }
  | { outcome: 'not_cancellable'; code: string; message: string };

export interface ListTransactionsInput {
  from: Date;
  to: Date;
  /** Which time the window applies to: when the payment was created (default) or when it was paid. */
  by?: 'created' | 'paid';
}

/**
 * What a credentials probe found (PaymentProvider.probe):
 * - `ok`: the provider answered, authenticated, with this account's keys (a "no such order" is ok);
 * - `rejected`: the provider refused the credentials (it could not decrypt or verify the request,
 *   its answer fails our check, HTTP 401, an unknown app id): retrying cannot help;
 * - `unreachable`: no trustworthy answer (transport error, timeout, 5xx, throttling): may heal.
 * `reason` is for operators: short, and never quotes a key.
 */
export type ProbeResult = { status: 'ok' } | { status: 'rejected'; reason: string } | { status: 'unreachable'; reason: string };

export interface PaymentProvider {
  /** The module id, e.g. the folder name under providers/. */
  readonly id: string;
  /** The account id from configuration; part of the callback URLs. */
  readonly account: string;
  readonly capabilities: ReadonlySet<ProviderCapability>;
  /** Payment methods this account offers (`atm`, `card`, `page`, `wap`...). */
  readonly methods: readonly string[];
  /** ISO 4217 codes this account can charge in. */
  readonly currencies: readonly string[];
  /**
   * When the provider gets its acknowledgement: `stored` once the raw callback is committed (the
   * rest may finish later, as with a token that must be exchanged), `applied` once it is verified
   * and its effect on the order is committed.
   */
  readonly ackAfter: 'stored' | 'applied';
  /**
   * A notify's verifyCallback is pure CPU (a signature or MAC over the bytes: no call to the
   * provider). With `ackAfter: 'applied'`, core then verifies before storing and commits the raw
   * row with the order's change in one transaction (docs/architecture.md#one-commit-per-applied-notify).
   * Leave it unset when verification may ask the provider anything.
   */
  readonly verifiesOffline?: boolean;
  /**
   * Who brings the notify (docs/architecture.md#a-notify-the-browser-brings). `server` (the default):
   * the provider's server posts it. `browser`: the buyer's browser comes back to the notify URL with
   * a GET, as LINE Pay's confirmUrl does. Such a request proves nothing by itself: verifyCallback
   * gets the facts from a call of its own to the provider (which may be the call that completes the
   * payment), and reply() answers the browser: on to the hosted result page (303 and a `location`
   * header) for `ack` and `retry`, a 4xx for `reject`. The notify endpoint takes GET only for these.
   */
  readonly notifyFrom?: 'server' | 'browser';
  /**
   * How a buyer pays again after a failure (docs/architecture.md#paying-again). Unset: through the
   * same next action, when it is a redirect (a card page that takes another try). `new-attempt`:
   * the provider never takes a trade twice, so core counts up the order's `attempt` and calls
   * create() again, and the provider builds its trade's reference from `order.attempt`.
   */
  readonly payAgain?: 'new-attempt';
  /**
   * Whether calling refund() again with the same refundNo refunds at most once (the provider keys
   * refunds by our number). Only then may paygate repeat a refund whose outcome it never learned.
   */
  readonly refundIdempotent?: boolean;
  /**
   * The methods whose payments refund() can ever give back, when not all of `methods` can (a
   * bank transfer with no card to credit). A refund of any other method is refused with 422
   * `refund_unsupported` before anything is stored. Undefined: every method the account offers.
   */
  readonly refundMethods?: readonly string[];
  /**
   * The largest callback body (notify or return) this provider really sends, in bytes; larger ones
   * are refused with 413 before anything is stored. Core's default (CALLBACK_BODY_LIMIT) otherwise.
   */
  readonly maxCallbackBytes?: number;
  /**
   * The largest amount, in integer minor units of `currency`, this account takes for `method`;
   * undefined when the provider states none. Core refuses a larger order before `create` and
   * leaves the method off a hosted checkout (core/amount-limits.ts). Optional; `create` still
   * refuses what it cannot send.
   */
  maxAmount?(currency: string, method: string): number | undefined;

  create(input: CreatePaymentInput): Promise<CreatePaymentResult>;
  /** Reads the dedupe key without verifying. Throws a ValidationError for a malformed request. */
  inspectCallback(request: CallbackRequest): CallbackEnvelope;
  /** Verifies a callback and returns the facts it proves. Throws only for faults (retried later). */
  verifyCallback(request: CallbackRequest, context?: VerifyContext): Promise<CallbackVerification>;
  reply(kind: ReplyKind, request: CallbackRequest): CallbackReply;
  query(input: QueryInput): Promise<QueryResult>;
  refund?(input: RefundInput): Promise<RefundResult>;
  cancel?(input: CancelInput): Promise<CancelResult>;
  listTransactions?(input: ListTransactionsInput): Promise<PaymentFacts[]>;
  /**
   * A cheap live call that changes nothing (a status query for a made-up order number) telling
   * whether the provider accepts this account's credentials. Called at start and periodically
   * (core/provider-health.ts); never throws: every outcome is a ProbeResult. Optional: a provider
   * with no such call omits it and its accounts stay `unknown`.
   */
  probe?(): Promise<ProbeResult>;
}

/** What a provider module receives when one of its accounts is built. */
export interface ProviderContext {
  logger: Logger;
  /** The unified callback endpoints of this account (docs/architecture.md#the-endpoints). */
  callbackUrls: CallbackUrls;
}

/** The languages of the hosted buyer pages (server/views/i18n.ts). */
export type BuyerLocale = 'zh-TW' | 'zh-CN' | 'en';

/**
 * A provider plugin. `Config` is an account's configuration as written (what PAYGATE_CONFIG holds
 * and a simulator hands out), `Settings` the same after `configSchema` filled in its defaults: the
 * registry parses once and the adapter gets the parsed value, typed, without a cast.
 */
export interface ProviderModule<Settings = unknown, Config = Settings> {
  readonly id: string;
  readonly displayName: string;
  /**
   * The provider's name as buyers know it, in each language of the hosted pages (the checkout's
   * choice list, the "already chosen" page). Without it, buyers read `displayName`.
   */
  readonly buyerNames?: Readonly<Record<BuyerLocale, string>>;
  /**
   * Validates one account's configuration; parsed once at boot. A `callbackBaseUrl` string in the
   * parsed config replaces PAYGATE_PUBLIC_URL in that account's callback URLs.
   */
  readonly configSchema: z.ZodType<Settings, Config>;
  createProvider(account: string, config: Settings, context: ProviderContext): PaymentProvider;
  /**
   * Starts the provider's simulator. Modules load the simulator's code here, with a dynamic
   * `import()`, so a production process that mounts none never loads it (a test checks the loaded
   * modules: test/server/build.test.ts).
   */
  simulator?(options: SimulatorOptions): Promise<SimulatorInstance<Config>>;
}
