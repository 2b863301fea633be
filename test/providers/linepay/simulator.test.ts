/** The LINE Pay simulator's books survive a restart of the demo gateway (SimulatorInstance.snapshot). */
import test from 'ava';
import { silentLogger } from '../../../core/logger.ts';
import { createLinepaySimulator } from '../../../providers/linepay/simulator/index.ts';
import type { LinepayBooks } from '../../../providers/linepay/simulator/books.ts';

const options = (books?: unknown) => ({ baseUrl: 'http://127.0.0.1:9/sim/linepay', logger: silentLogger, timeScale: 1, books });

test('a snapshot taken through JSON restores the same channels and keys, every transaction, and ids that continue after them', (t) => {
  const first = createLinepaySimulator(options());
  const config = first.accountConfig('default');
  const second = first.accountConfig('second');
  // A transaction as the API leaves it, with its refund.
  const now = Date.now();
  first.transactions.set('2026120312345678901', {
    transactionId: '2026120312345678901', channelId: config.channelId, orderId: '26120300000000000001-abcdef', amount: 798, currency: 'TWD', productName: 'Tea',
    confirmUrl: 'http://gw/n', cancelUrl: 'http://gw/n?cancelled=1', capture: true, reserveToken: 'tok', status: 'CAPTURE', createdAt: now, expiresAt: now + 1,
    authorizationExpireDate: null, payInfo: [{ method: 'CREDIT_CARD', amount: 798 }], transactionDate: '2026-12-03T00:00:00Z', refunds: [{ refundTransactionId: '2026120312345678902', amount: 100, date: '2026-12-03T00:01:00Z' }],
    declineCode: null, inFlight: true,
  });
  const books = JSON.parse(JSON.stringify(first.snapshot())) as LinepayBooks;
  const again = createLinepaySimulator(options(books));
  t.deepEqual(again.accountConfig('default'), config);
  t.deepEqual(again.accountConfig('second'), second);
  t.like(again.transactions.get('2026120312345678901'), { status: 'CAPTURE', inFlight: false, refunds: [{ refundTransactionId: '2026120312345678902', amount: 100, date: '2026-12-03T00:01:00Z' }] });
  t.true(books.counter > 0);
});

test('books of another shape, or a transaction missing its fields, start that much empty instead of stopping the gateway', (t) => {
  const warned: string[] = [];
  const logger = { ...silentLogger, warn: (_o: object, msg?: string) => void warned.push(String(msg)), child: () => logger };
  const empty = createLinepaySimulator({ ...options({ version: 2 }), logger });
  t.is(empty.transactions.size, 0);
  t.true(warned.some((w) => /not readable/.test(w)));
  const good = createLinepaySimulator(options());
  const config = good.accountConfig('default');
  const books = { ...good.snapshot(), transactions: [{ transactionId: '1' }, { channelId: config.channelId }] };
  const partial = createLinepaySimulator(options(books));
  t.is(partial.transactions.size, 0);
  t.deepEqual(partial.accountConfig('default'), config);
});
