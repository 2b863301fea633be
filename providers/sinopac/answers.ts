import { z } from 'zod';

/**
 * The decrypted, Sign-checked answers of the bank's services (docs/protocols/sinopac.md#services),
 * as zod schemas parsed once by SinopacClient.call before the adapter reads them. Only the fields
 * paygate reads are described; the rest pass through. Optional text may come as null from the real
 * bank (UNVERIFIED), read as absent. A field of another type is a malformed answer: a SinopacFault.
 */

const text = z.string().nullish();
/** A number in OrderCreate and OrderQuery, a string in TSResultContent (§7.2). */
const amount = z.union([z.number(), z.string()]).nullish();

/** §7.1 OrderCreate, PayType A: the virtual account. */
export const orderCreateAtmAnswer = z.looseObject({
  TSNo: text,
  ATMParam: z.looseObject({ AtmPayNo: z.string().min(1), WebAtmURL: text }),
});

/** §7.1 OrderCreate, PayType C: the card page. */
export const orderCreateCardAnswer = z.looseObject({
  TSNo: text,
  CardParam: z.looseObject({ CardPayURL: z.string().min(1) }),
});

/** §7.2 OrderPayQuery: what one PayToken's attempt did. */
export const orderPayQueryAnswer = z.looseObject({
  Date: text,
  TSResultContent: z.looseObject({
    APType: text,
    TSNo: text,
    OrderNo: text,
    Amount: amount,
    Status: text,
    Description: text,
    PayDate: text,
  }),
});

/** §7.3 one OrderList row. */
export const orderQueryRow = z.looseObject({
  OrderNo: text,
  TSNo: text,
  Amount: amount,
  PayStatus: text,
  PayDate: text,
  RefundFlag: text,
  RefundAmount: amount,
});
export type OrderQueryRow = z.output<typeof orderQueryRow>;

/** §7.3 OrderQuery: no OrderList is no rows. */
export const orderQueryAnswer = z.looseObject({ OrderList: z.array(orderQueryRow).nullish() });

/** §7.4 OrderMaintain. */
export const orderMaintainAnswer = z.looseObject({ TSNo: text });
