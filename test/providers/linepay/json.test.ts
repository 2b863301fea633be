/** LINE Pay's 19-digit transaction ids (docs/protocols/linepay.md#transaction-ids): never through a double. */
import test from 'ava';
import { parseLinePayJson, stringifyLinePayJson, UnsafeNumberError } from '../../../providers/linepay/json.ts';

test('a bare 19-digit id above 2^53 comes out digit for digit, where JSON.parse rounds it', (t) => {
  const text = '{"returnCode":"0000","info":{"transactionId":2021121600698709710,"orderId":"A-1","payInfo":[{"method":"CREDIT_CARD","amount":1000}]}}';
  t.is(String((JSON.parse(text) as { info: { transactionId: number } }).info.transactionId), '2021121600698709800', 'the naive way loses the last digits');
  const parsed = parseLinePayJson(text) as { info: { transactionId: string; payInfo: { amount: number }[] } };
  t.is(parsed.info.transactionId, '2021121600698709710');
  t.is(parsed.info.payInfo[0]!.amount, 1000);
});

test('refund and original ids too, in arrays, with spaces around the colon; quoted ids stay as they are', (t) => {
  const text = '{"info":[{"transactionId" : 2023042201206549310,"refundList":[{"refundTransactionId":2023042201206549399,"refundAmount":-20}],"originalTransactionId":\n9223372036854775807},{"transactionId":"2023042201206549311"}]}';
  const parsed = parseLinePayJson(text) as { info: { transactionId: string; originalTransactionId?: string; refundList?: { refundTransactionId: string; refundAmount: number }[] }[] };
  t.is(parsed.info[0]!.transactionId, '2023042201206549310');
  t.is(parsed.info[0]!.refundList![0]!.refundTransactionId, '2023042201206549399');
  t.is(parsed.info[0]!.refundList![0]!.refundAmount, -20);
  t.is(parsed.info[0]!.originalTransactionId, '9223372036854775807');
  t.is(parsed.info[1]!.transactionId, '2023042201206549311');
});

test('text inside a string value is never rewritten; any other unsafe integer makes the answer unreadable', (t) => {
  const text = JSON.stringify({ returnMessage: 'see "transactionId":2021121600698709710', info: { transactionId: '1' } });
  t.is((parseLinePayJson(text) as { returnMessage: string }).returnMessage, 'see "transactionId":2021121600698709710');
  t.throws(() => parseLinePayJson('{"info":{"paymentAccessToken":2021121600698709710}}'), { instanceOf: UnsafeNumberError, message: /info\.paymentAccessToken/ });
  t.throws(() => parseLinePayJson('{"returnCode":'), { instanceOf: SyntaxError });
});

test('written as LINE Pay writes it: ids as bare numbers, read back unchanged', (t) => {
  const text = stringifyLinePayJson({ info: { transactionId: '2024050100987654321', refundList: [{ refundTransactionId: '2024050100987654322' }], orderId: '2024050100987654323' } });
  t.is(text, '{"info":{"transactionId":2024050100987654321,"refundList":[{"refundTransactionId":2024050100987654322}],"orderId":"2024050100987654323"}}');
  t.deepEqual(parseLinePayJson(text), { info: { transactionId: '2024050100987654321', refundList: [{ refundTransactionId: '2024050100987654322' }], orderId: '2024050100987654323' } });
});
