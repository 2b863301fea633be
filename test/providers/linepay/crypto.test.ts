/**
 * LINE Pay's request signature pinned with the vectors of docs/protocols/linepay.md#test-vectors:
 * our own (V1–V6, recomputed with another HMAC implementation when written) and the ones an SDK
 * publishes, which sign a full URL where production signs the path.
 */
import test from 'ava';
import { signature, signatureMatches, signedText } from '../../../providers/linepay/crypto.ts';

const SECRET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const V1_BODY =
  '{"amount":250,"currency":"TWD","orderId":"PG-20240501-0001","packages":[{"id":"pkg-1","amount":250,"name":"paygate test","products":[{"name":"Widget","quantity":1,"price":250}]}],"redirectUrls":{"confirmUrl":"https://shop.example.com/linepay/confirm","cancelUrl":"https://shop.example.com/linepay/cancel"}}';

test('V1: POST Request, the exact body bytes', (t) => {
  t.is(Buffer.byteLength(V1_BODY), 306);
  t.is(signature(SECRET, '/v3/payments/request', V1_BODY, '6f3c2b1a-8d4e-4f5a-9b6c-7d8e9f0a1b2c'), 'GBmiflNeZlBR22Goy775STHGmFMGE9JUSzz/4hslS70=');
});

test('V1b: the same object serialised otherwise signs otherwise (sign what is sent)', (t) => {
  const pretty = JSON.stringify(JSON.parse(V1_BODY), null, 2);
  t.is(Buffer.byteLength(pretty), 448);
  t.is(signature(SECRET, '/v3/payments/request', pretty, '6f3c2b1a-8d4e-4f5a-9b6c-7d8e9f0a1b2c'), 'fyfceVlwM3AJ7POyGJuUiWNAmeddp27nRTgCG+A4mxM=');
});

test('V2–V6: Confirm (timestamp nonce), Payment Details (GET query), Check (empty query), Void (empty and {}), partial Refund', (t) => {
  const tid = '2024050100987654321';
  t.is(signature(SECRET, `/v3/payments/${tid}/confirm`, '{"amount":250,"currency":"TWD"}', '1714521600000'), '6dp4JAhmRTg9FnWpjDpH360Ve/yE3VdIbHrARzNEBeM=');
  t.is(signature(SECRET, '/v3/payments', `transactionId=${tid}&orderId=PG-20240501-0001`, 'b7e1f0d2-3c4a-4e5b-8f6a-0123456789ab'), 'jtkLCXxVxQhtUTh543StsqyxONj+qh8deKt+wrrIhtA=');
  t.is(signature(SECRET, `/v3/payments/requests/${tid}/check`, '', 'c0ffee00-1234-4abc-8def-000000000001'), 'jBX6raHBm7qJCdyYem1cnn7tqMG2ycwIwJgKzgYb/G0=');
  t.is(signature(SECRET, `/v3/payments/authorizations/${tid}/void`, '', 'c0ffee00-1234-4abc-8def-000000000002'), 'gASdWsHbA/bTLoTKi/dNxpfIk86cVESmctqeiRs7+ek=');
  t.is(signature(SECRET, `/v3/payments/authorizations/${tid}/void`, '{}', 'c0ffee00-1234-4abc-8def-000000000002'), 'tmwwuMb7xyjVIfvnJg0NfVYRq7hg4MN4V4i1gFj+ZnQ=');
  t.is(signature(SECRET, `/v3/payments/${tid}/refund`, '{"refundAmount":100}', 'c0ffee00-1234-4abc-8def-000000000003'), 'Ou4O55wY640SPAkuWjI7fQtWL3j5xp9+V6gepWuTkA0=');
});

test('the SDK-published vectors: full URL as its tests sign it, and the path-only form production signs', (t) => {
  const nonce = '00000000-0000-0000-0000-000000000000';
  const full = 'https://sandbox-api-pay.line.me/v3/payments';
  t.is(signature('channelSecretKey', full, 'transactionId=2021113000697317600', nonce), 'CcToW3HaslH44yvJNliuomtkwufd8aC048p3QXZPlj8=');
  t.is(signature('channelSecretKey', full, '{"transactionId":"2021113000697317600"}', nonce), 'En0nRkzzQpXrXo6OHNV+827g+rWIwUq5VTk/n9Jm5Ek=');
  t.is(signature('channelSecretKey', '/v3/payments', 'transactionId=2021113000697317600', nonce), 'AKeJOML++U7ibctuAHwQScBZs/TpHScKCwRBivdWE3A=');
  t.is(signature('channelSecretKey', '/v3/payments', '{"transactionId":"2021113000697317600"}', nonce), 'wrviKghOOBW2VxmROuoS/jzfudKrp5g565DP8XgBNN0=');
});

test('the signed text is secret + path + body + nonce; a check fails on any other byte', (t) => {
  t.is(signedText('S', '/v3/p', '{}', 'N'), 'S/v3/p{}N');
  const good = signature(SECRET, '/v3/payments/request', V1_BODY, 'n1');
  t.true(signatureMatches(SECRET, '/v3/payments/request', V1_BODY, 'n1', good));
  t.false(signatureMatches(SECRET, '/v3/payments/request', `${V1_BODY} `, 'n1', good));
  t.false(signatureMatches(SECRET, '/v3/payments/request', V1_BODY, 'n2', good));
  t.false(signatureMatches('b'.repeat(32), '/v3/payments/request', V1_BODY, 'n1', good));
  t.false(signatureMatches(SECRET, '/v3/payments/request', V1_BODY, 'n1', good.slice(0, -2)));
});
