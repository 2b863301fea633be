/**
 * The anonymous flood of test/reliability/abuse.test.ts, in a process of its own so its CPU is not
 * the gateway's event loop (as an attacker's machine would not be). Reads its orders from argv,
 * sends `count` requests `concurrency` at a time at most `rate` per second, and prints one JSON line
 * of status counts when done.
 *
 *   node --import=tsx test/reliability/flood.ts <base> <count> <rate> <concurrency> <orderNo,...>
 */
import { signed } from '../../providers/_template/crypto.ts';
import { SIM_MERCHANT } from '../../providers/_template/simulator.ts';

export const FLOOD_ADDRESSES = ['203.0.113.1', '203.0.113.2', '198.51.100.3', '2001:db8:abcd:12::7'];

/** What request i is, by i % 5 (floodRequest). */
export const FLOOD_KINDS = ['forged_notify', 'garbage_notify', 'oversized_notify', 'unknown_endpoint', 'junk_return'] as const;

export function floodRequest(base: string, i: number, orderNos: readonly string[]): { url: string; init: RequestInit } {
  const headers = { 'x-forwarded-for': FLOOD_ADDRESSES[i % FLOOD_ADDRESSES.length]!, 'content-type': 'application/x-www-form-urlencoded' };
  const orderNo = orderNos[i % Math.max(1, orderNos.length)] ?? '26120200000000000000';
  switch (i % 5) {
    case 0: {
      const fields = { merchant_id: SIM_MERCHANT, order_no: orderNo, trade_no: `X${i}`, amount: '79900', currency: 'TWD', status: 'PAID', notify_id: `anon-${i}-${Date.now()}` };
      return { url: `${base}/callbacks/fakepay/default/notify`, init: { method: 'POST', headers, body: new URLSearchParams(signed(fields, 'guessed-secret-0000000000')).toString() } };
    }
    case 1:
      return { url: `${base}/callbacks/fakepay/default/notify`, init: { method: 'POST', headers, body: `garbage=${'%'.repeat(50)}&n=${i}` } };
    case 2:
      return { url: `${base}/callbacks/fakepay/default/notify`, init: { method: 'POST', headers, body: 'a='.padEnd(100 * 1024, 'z') } };
    case 3:
      return { url: `${base}/callbacks/nosuch${i % 7}/default/notify`, init: { method: 'POST', headers, body: 'a=1' } };
    default:
      return { url: `${base}/callbacks/fakepay/default/return?order_no=${orderNo}&junk=${'j'.repeat(4_000)}&n=${i}`, init: { method: 'GET', headers } };
  }
}

async function main(): Promise<void> {
  const [base, countText, rateText, concurrencyText, orders] = process.argv.slice(2);
  const count = Number(countText);
  const rate = Number(rateText);
  const orderNos = (orders ?? '').split(',').filter(Boolean);
  const statuses: Record<string, number> = {};
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Number(concurrencyText) }, async () => {
      while (next < count) {
        const i = next++;
        // Paced: request i is not sent before i / rate seconds.
        const due = started + (i / rate) * 1000;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        const { url, init } = floodRequest(base!, i, orderNos);
        const status = await fetch(url, init).then(
          async (res) => {
            await res.arrayBuffer();
            return String(res.status);
          },
          // The oversized body (i % 5 === 2) may be cut off: the gateway answers 413 from the
          // Content-Length and closes without reading the rest, and a client still uploading then
          // sees the socket close instead of the answer. That is the refusal working; a network
          // error on any other request is a fault, and the test fails on it.
          // The key names the kind, so a failure says which request broke.
          () => (i % 5 === 2 ? 'closed_oversized' : `error_${FLOOD_KINDS[i % 5]}`),
        );
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ statuses, seconds: (Date.now() - started) / 1000 })}\n`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) void main();
