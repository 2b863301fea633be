import type Koa from 'koa';
import type { Db } from '../../core/db.ts';
import { AuthenticationError } from '../../core/errors.ts';
import { authenticateMerchant, type Merchant } from '../../core/merchants.ts';

export interface MerchantState {
  merchant: Merchant;
}

/** `Authorization: Bearer <api key>` → ctx.state.merchant, or a 401. */
export function merchantAuth(db: Db): Koa.Middleware<MerchantState> {
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new AuthenticationError();
    const merchant = await authenticateMerchant(db, match[1]!);
    if (!merchant) throw new AuthenticationError('The API key is not valid');
    ctx.state.merchant = merchant;
    await next();
  };
}
