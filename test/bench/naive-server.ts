/**
 * The naive peer: an Alipay notify handler in the style of the seed projects — Koa, alipay-sdk's
 * checkNotifySignV2, one UPDATE of the order, `success` — on the same database as the gateway.
 * No inbox row, no version check, no transition row, no event, no amount or account check: what
 * the gateway's safety costs is the difference. Its own process, like the gateway.
 * Env: PORT, DATABASE_URL, PAYGATE_CONFIG (its alipay.default account is used).
 */
import { AlipaySdk } from 'alipay-sdk';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import { readFileSync } from 'node:fs';
import { openDb } from '../../core/db.ts';
import type { AlipaySettings } from '../../providers/alipay/config.ts';

const config = JSON.parse(readFileSync(process.env.PAYGATE_CONFIG!, 'utf8')) as { providers: { alipay: { default: AlipaySettings } } };
const account = config.providers.alipay.default;
const sdk = new AlipaySdk({
  appId: account.appId,
  privateKey: account.privateKey,
  keyType: account.keyType,
  alipayPublicKey: account.alipayPublicKey,
  signType: 'RSA2',
  gateway: account.gateway,
});
const db = openDb(process.env.DATABASE_URL!);

const app = new Koa();
app.use(bodyParser({ enableTypes: ['form'], formLimit: '256kb' }));
app.use(async (ctx) => {
  if (ctx.path === '/healthz') {
    ctx.body = 'ok';
    return;
  }
  const params = ctx.request.body as Record<string, string>;
  ctx.type = 'text/plain';
  if (!sdk.checkNotifySignV2(params)) {
    ctx.body = 'failure';
    return;
  }
  if (params.trade_status === 'TRADE_SUCCESS' || params.trade_status === 'TRADE_FINISHED') {
    await db('orders')
      .where({ order_no: params.out_trade_no })
      .update({ status: 'paid', provider_trade_no: params.trade_no, paid_at: Date.now(), updated_at: Date.now() });
  }
  ctx.body = 'success';
});
const server = app.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => void db.destroy().then(() => process.exit(0)));
  server.closeAllConnections();
});
