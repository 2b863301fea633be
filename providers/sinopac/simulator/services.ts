import { payFlag, payStatus, type SimOrder, type Shop } from './bank.ts';
import { Refusal, SUCCESS, invalid, positiveInt, text, type Message } from './fields.ts';
import { orderCreate, type CreateContext } from './order-create.ts';
import { isStamp, taipeiStamp } from './util.ts';

/** §7.3: at most 300 rows per query; beyond that the simulator truncates (UNVERIFIED: truncate vs error). */
export const ORDER_QUERY_LIMIT = 300;

/** Runs one APIService for a shop whose envelope has already been authenticated; returns the plain response R. */
export function runService(ctx: CreateContext, shop: Shop, service: string, msg: Message): Message {
  if (service === 'OrderCreate') return orderCreate(ctx, shop, msg);
  const now = new Date();
  const head = { ShopNo: shop.shopNo, Date: taipeiStamp(now) };
  try {
    switch (service) {
      case 'OrderPayQuery':
        return orderPayQuery(ctx, shop, msg, head);
      case 'OrderQuery':
        return orderQuery(ctx, shop, msg, head, now);
      case 'OrderMaintain':
        return orderMaintain(ctx, shop, msg, now);
      case 'OrderUnCapturedQuery':
        return unCapturedQuery(ctx, shop, msg, head, now);
      default:
        throw new Refusal('E0102', `模擬器不支援此服務：${service}`);
    }
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    const echo: Message = {};
    if (service === 'OrderPayQuery' && typeof msg.PayToken === 'string') echo.PayToken = msg.PayToken;
    if (service === 'OrderMaintain') {
      if (typeof msg.OrderNo === 'string') echo.OrderNo = msg.OrderNo;
      if (typeof msg.Command === 'string') echo.Command = msg.Command;
    }
    return { ...head, ...echo, Status: 'F', Description: err.message };
  }
}

/** §7.2: PayToken → the result of that one attempt. */
function orderPayQuery(ctx: CreateContext, shop: Shop, msg: Message, head: Message): Message {
  const payToken = text(msg, 'PayToken', { required: true, max: 100 })!;
  const hit = ctx.bank.attemptByToken(shop.shopNo, payToken);
  if (!hit) throw new Refusal('E0301', '查無交易資料');
  const { order, attempt } = hit;
  return {
    ShopNo: shop.shopNo,
    PayToken: payToken,
    Date: head.Date,
    Status: 'S',
    Description: SUCCESS,
    TSResultContent: {
      APType: 'PayOut',
      TSNo: order.tsNo,
      OrderNo: order.orderNo,
      ShopNo: order.shopNo,
      PayType: order.payType,
      Amount: String(order.amount), // a string here, unlike everywhere else (§7.2, CONFIRMED)
      Status: attempt.status,
      Description: attempt.description,
      PayDate: taipeiStamp(attempt.at),
      ...order.params,
      ...(order.payType === 'C' ? { LeftCCNo: attempt.leftCCNo ?? '', RightCCNo: attempt.rightCCNo ?? '' } : {}),
    },
  };
}

function stampRange(msg: Message, from: string, to: string): [string, string] | null {
  const s = text(msg, from);
  const e = text(msg, to);
  if (s === undefined && e === undefined) return null;
  if (s === undefined || e === undefined) throw invalid(s === undefined ? from : to, `${from} 與 ${to} 須同時提供`);
  if (!isStamp(s)) throw invalid(from, '必須是 yyyyMMddHHmm');
  if (!isStamp(e)) throw invalid(to, '必須是 yyyyMMddHHmm');
  if (s > e) throw invalid(from, `不可晚於 ${to}`);
  return [s, e];
}

/** §7.3. Ranges are inclusive at minute resolution; PayDate = transfer / capture time. */
function orderQuery(ctx: CreateContext, shop: Shop, msg: Message, head: Message, now: Date): Message {
  const orderNo = text(msg, 'OrderNo', { max: 50 });
  const payType = text(msg, 'PayType', { oneOf: ['A', 'C'] });
  const orderRange = stampRange(msg, 'OrderDateTimeS', 'OrderDateTimeE');
  const payRange = stampRange(msg, 'PayDateTimeS', 'PayDateTimeE');
  const flag = text(msg, 'PayFlag', { oneOf: ['Y', 'N', 'O'] });
  if (orderNo === undefined && payType === undefined && !orderRange && !payRange && flag === undefined) {
    throw new Refusal('E0302', '查詢條件不足');
  }
  const rows = ctx.bank.orders
    .filter((o) => {
      if (o.shopNo !== shop.shopNo) return false;
      if (orderNo !== undefined && o.orderNo !== orderNo) return false;
      if (payType !== undefined && o.payType !== payType) return false;
      if (orderRange) {
        const t = taipeiStamp(o.createdAt);
        if (t < orderRange[0] || t > orderRange[1]) return false;
      }
      if (payRange) {
        if (!o.paidAt) return false;
        const t = taipeiStamp(o.paidAt);
        if (t < payRange[0] || t > payRange[1]) return false;
      }
      return flag === undefined || payFlag(o, now) === flag;
    })
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.seq - b.seq)
    .slice(0, ORDER_QUERY_LIMIT);
  return { ...head, Status: 'S', Description: SUCCESS, OrderList: rows.map((o) => orderItem(o, now)) };
}

const stampOrEmpty = (d: Date | null): string => (d ? taipeiStamp(d) : '');

/** One OrderList row (§7.3, fields of the real responses and the official OrderInfo class). */
export function orderItem(o: SimOrder, now: Date): Message {
  return {
    OrderNo: o.orderNo,
    TSNo: o.tsNo,
    TSDate: taipeiStamp(o.createdAt),
    ...(o.payType === 'C' ? { ApprovedDate: stampOrEmpty(o.approvedAt) } : {}),
    PayDate: stampOrEmpty(o.paidAt),
    Amount: o.amount,
    PayType: o.payType,
    PayStatus: payStatus(o, now),
    ExpireDate: o.atm ? `${o.atm.expireDate}2359` : taipeiStamp(o.deadline),
    RefundFlag: o.refunded > 0 ? 'Y' : 'N',
    RefundStatus: '', // code values UNVERIFIED (§7.3)
    RefundDate: stampOrEmpty(o.refundedAt),
    PrdtName: o.prdtName,
    ...(o.memo !== undefined ? { Memo: o.memo } : {}),
    ...o.params,
    ...(o.atm
      ? {
          ATMParam: {
            AtmPayNo: o.atm.atmPayNo,
            WebAtmURL: o.atm.webAtmUrl,
            OtpURL: o.atm.otpUrl,
            BankNo: o.atm.payerAcctNo ? '807' : '',
            AcctNo: o.atm.payerAcctNo ?? '',
          },
        }
      : { CardParam: cardParam(o) }),
    RefundAmount: o.refunded,
  };
}

function cardParam(o: SimOrder): Message {
  const approved = [...o.attempts].reverse().find((a) => a.status === 'S');
  return {
    CardPayURL: o.card!.cardPayUrl,
    LeftCCNo: approved?.leftCCNo ?? '',
    RightCCNo: approved?.rightCCNo ?? '',
    AuthCode: o.card!.authCode ?? '',
  };
}

/** §7.5: authorised card orders waiting for capture (fields from the official class; UNVERIFIED). */
function unCapturedQuery(ctx: CreateContext, shop: Shop, msg: Message, head: Message, now: Date): Message {
  const orderNo = text(msg, 'OrderNo', { max: 50 });
  const rows = ctx.bank.orders.filter(
    (o) => o.shopNo === shop.shopNo && o.status === 'authorised' && (orderNo === undefined || o.orderNo === orderNo),
  );
  const list = rows.slice(0, ORDER_QUERY_LIMIT).map((o) => ({
    OrderNo: o.orderNo,
    TSNo: o.tsNo,
    TSDate: taipeiStamp(o.createdAt),
    ApprovedDate: stampOrEmpty(o.approvedAt),
    ExpireDate: taipeiStamp(o.deadline),
    Amount: o.amount,
    PayType: o.payType,
    PrdtName: o.prdtName,
    ...(o.memo !== undefined ? { Memo: o.memo } : {}),
    PayStatus: payStatus(o, now),
  }));
  return { ...head, Status: 'S', Description: SUCCESS, OrderList: list };
}

/**
 * §7.4 OrderMaintain — field names CONFIRMED, semantics UNVERIFIED and chosen here: card orders only;
 * P captures an authorisation (whole amount), C voids an authorisation that is not captured,
 * R refunds a captured order (Amount omitted = everything not yet refunded; never more than that).
 */
function orderMaintain(ctx: CreateContext, shop: Shop, msg: Message, now: Date): Message {
  const orderNo = text(msg, 'OrderNo', { required: true, max: 50 })!;
  const command = text(msg, 'Command', { required: true, oneOf: ['P', 'C', 'R'] })!;
  const amount = positiveInt(msg, 'Amount');
  text(msg, 'Remark', { max: 100 });
  const order = ctx.bank.order(shop.shopNo, orderNo);
  if (!order) throw new Refusal('E0301', '查無交易資料');
  if (order.payType !== 'C') throw new Refusal('E0401', '僅信用卡訂單可使用此服務');
  let done: number;
  switch (command) {
    case 'P':
      if (order.status !== 'authorised') throw new Refusal('E0402', stateText(order));
      if (amount !== undefined && amount !== order.amount) throw new Refusal('E0404', '請款金額須等於授權金額');
      order.status = 'captured';
      order.paidAt = now;
      done = order.amount;
      break;
    case 'C':
      if (order.status !== 'authorised') throw new Refusal('E0402', stateText(order));
      order.status = 'voided';
      done = order.amount;
      break;
    default: {
      if (order.status !== 'captured') throw new Refusal('E0402', stateText(order));
      const left = order.amount - order.refunded;
      if (left <= 0) throw new Refusal('E0403', '訂單已全額退款');
      done = amount ?? left;
      if (done > left) throw new Refusal('E0403', `退款金額超過可退金額 ${left}`);
      order.refunded += done;
      order.refundedAt = now;
    }
  }
  return {
    OrderNo: order.orderNo,
    ShopNo: order.shopNo,
    TSNo: order.tsNo,
    Command: command,
    Amount: done,
    Date: taipeiStamp(now),
    Status: 'S',
    Description: SUCCESS,
  };
}

function stateText(order: SimOrder): string {
  switch (order.status) {
    case 'authorised':
      return '訂單已授權未請款，請先請款或取消授權';
    case 'captured':
      return '訂單已請款，請使用退款';
    case 'voided':
      return '訂單已取消授權';
    default:
      return '訂單尚未付款';
  }
}
