import test from 'ava';
import { PassThrough } from 'node:stream';
import { createLogger, redact, scrubText } from '../../server/logger.ts';

// Luhn-valid test card numbers (Visa / Mastercard test ranges).
const CARD = '4111111111111111';
const CARD2 = '5555555555554444';
const ORDER_NO = '261122020000ABCD1234';
const NOT_LUHN = '4111111111111112';

test('redact replaces secret values at any depth, whatever the key spelling', (t) => {
  const secretKeys = ['authorization', 'Authorization', 'apiKey', 'api_key', 'x-api-key', 'HashKey', 'HashIV', 'hash_key',
    'privateKey', 'app_private_key', 'webhook_secret', 'webhookSecret', 'password', 'token', 'PayToken', 'cookie', 'X-KeyId',
    'A1', 'b2', 'sign', 'card_number', 'cardNo'];
  for (const key of secretKeys) {
    const value = `s3cr3t-${key}`;
    const input = {
      [key]: value,
      nested: { deeper: [{ [key]: value }, { list: [{ [key]: { even: 'an object' } }] }] },
    };
    const out = redact(input) as Record<string, any>;
    t.is(out[key], '[redacted]', key);
    t.is(out.nested.deeper[0][key], '[redacted]', key);
    t.is(out.nested.deeper[1].list[0][key], '[redacted]', key);
    t.false(JSON.stringify(out).includes('s3cr3t'), key);
    t.false(JSON.stringify(out).includes('an object'), key);
  }
});

test('redact keeps ordinary fields and does not change its input', (t) => {
  const input = { orderId: 'pay_1', amount: 79900, status: 'paid', attention: false, paidAt: null, orderNo: ORDER_NO,
    headers: { 'content-type': 'application/json', authorization: 'Bearer k' } };
  const out = redact(input) as Record<string, any>;
  t.like(out, { orderId: 'pay_1', amount: 79900, status: 'paid', attention: false, paidAt: null, orderNo: ORDER_NO });
  t.is(out.headers['content-type'], 'application/json');
  t.is(out.headers.authorization, '[redacted]');
  t.is(input.headers.authorization, 'Bearer k', 'the caller’s object was mutated');
  // Card numbers inside ordinary string values and error messages are masked too.
  t.is((redact({ note: `paid with ${CARD}` }) as any).note, 'paid with [card …1111]');
  t.is((redact({ err: new Error(`declined ${CARD}`) }) as any).err.message, 'declined [card …1111]');
});

test('scrubText masks Luhn-valid card numbers, with or without separators', (t) => {
  for (const text of [CARD, '4111 1111 1111 1111', '4111-1111-1111-1111', CARD2, '5555 5555 5555 4444', '378282246310005']) {
    const out = scrubText(`card ${text} declined`);
    t.false(out.includes(text), text);
    t.regex(out, /^card \[card …\d{4}\] declined$/, text);
  }
  t.is(scrubText(`${CARD},${CARD2}`), '[card …1111],[card …4444]');
});

test('scrubText leaves order numbers, non-Luhn numbers and short numbers alone', (t) => {
  for (const text of [ORDER_NO, `order ${ORDER_NO} paid`, NOT_LUHN, '4111 1111 1111 1112', 'amount 79900 TWD',
    'at 1795313106736', '26112202000012345678' /* 20 digits: longer than any card */]) {
    t.is(scrubText(text), text, text);
  }
});

function capture() {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return {
    logger: createLogger('info', stream),
    async text(): Promise<string> {
      await new Promise((r) => setImmediate(r));
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

test('a real pino logger never writes a secret or a full card number', async (t) => {
  const { logger, text } = capture();
  const secrets = ['sk_live_ABC123', 'Bearer pk_merchant_777', 'HASHKEY-5294y06JbISpM5x9', 'HASHIV-v77hoKGq4kWxNNIS',
    'whsec_0123456789', '-----BEGIN PRIVATE KEY-----MIIE', 'X-API-KEY-VALUE-9'];
  logger.info({ headers: { authorization: secrets[1], 'x-api-key': secrets[6] }, apiKey: secrets[0] }, 'request');
  logger.info({ provider: { config: { HashKey: secrets[2], HashIV: secrets[3] } } }, 'ecpay config');
  logger.warn({ merchant: { webhook_secret: secrets[4] }, alipay: [{ privateKey: secrets[5] }] }, 'merchant');
  logger.child({ apiKey: secrets[0] }).child({ orderNo: ORDER_NO }).info({ ok: true }, 'child bindings');
  logger.info(`buyer typed ${CARD} into the note`);
  logger.info('card %s', '4111-1111-1111-1111');
  logger.info({ raw: `CardNo=${CARD2}&Amount=79900` }, 'callback body');
  logger.error(new Error(`provider said: card ${CARD} declined`));
  logger.error({ err: new Error(`card ${CARD2} declined`) }, 'provider fault');
  logger.info({ orderNo: ORDER_NO, amount: 79900 }, 'paid');

  const out = await text();
  const lines = out.trim().split('\n');
  t.is(lines.length, 10, 'every call wrote one line');
  for (const line of lines) t.notThrows(() => JSON.parse(line), line);
  for (const secret of secrets) t.false(out.includes(secret), `secret ${secret} reached the log`);
  for (const card of [CARD, CARD2, '4111-1111-1111-1111', '4111 1111 1111 1111']) t.false(out.includes(card), `card ${card} reached the log`);
  t.true(out.includes('[redacted]'));
  t.true(out.includes('[card …1111]'));
  t.true(out.includes(ORDER_NO), 'order numbers must stay readable');
  t.true(out.includes('"amount":79900'));
  t.true(out.includes('"service":"paygate"'));
});

test('the level is honoured', async (t) => {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (c: Buffer) => (out += c.toString()));
  const logger = createLogger('warn', stream);
  logger.info('quiet');
  logger.warn('loud');
  await new Promise((r) => setImmediate(r));
  t.false(out.includes('quiet'));
  t.true(out.includes('loud'));
});
