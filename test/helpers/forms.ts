/**
 * The buyer's browser played by fetch, for providers whose pay page is reached by a form post
 * (ECPay's AioCheckOut, NewebPay's MPG, SinoPac's card page): read a page's form, post it, press a
 * button of a simulator's pay page; and a wait for what the gateway shows.
 */

/** The five entities the gateway's and the simulators' `html` templates write, undone once. */
export const decodeEntities = (text: string) => text.replace(/&(quot|#39|lt|gt|amp);/g, (_, e: string) => ({ quot: '"', '#39': "'", lt: '<', gt: '>', amp: '&' })[e]!);

/** A page's form (the first, or the one with `id`): its action and the values of its named inputs. */
export function parseForm(html: string, id?: string): { action: string; fields: Record<string, string> } {
  const pattern = id ? new RegExp(`<form id="${id}"[^>]*action="([^"]*)"[^>]*>([\\s\\S]*?)</form>`, 'i') : /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i;
  const form = pattern.exec(html);
  if (!form) throw new Error(`no form ${id ?? ''} in: ${html.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input[^>]*>/gi)) {
    const name = /name="([^"]*)"/.exec(input[0])?.[1];
    if (name) fields[decodeEntities(name)] = decodeEntities(/value="([^"]*)"/.exec(input[0])?.[1] ?? '');
  }
  return { action: decodeEntities(form[1]!), fields };
}

export const postForm = (url: string, fields: Record<string, string>, redirect: RequestRedirect = 'manual') =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(), redirect });

/** The buyer's browser posts the provider's form (`what` names it in errors) and lands on the pay page it redirects to. */
export async function openPayPage(action: { url: string; fields: Record<string, string> }, what = 'the form'): Promise<{ url: string; html: string }> {
  const posted = await postForm(action.url, action.fields);
  if (posted.status !== 303) throw new Error(`${what} answered ${posted.status}: ${(await posted.text()).slice(0, 300)}`);
  await posted.arrayBuffer();
  const url = posted.headers.get('location')!;
  return { url, html: await (await fetch(url)).text() };
}

/** Presses a button of the pay page (the form's `action` value) with the form's other fields; the answer is the next page. */
export async function press(page: { html: string }, value: string, extra: Record<string, string> = {}): Promise<string> {
  const form = parseForm(page.html);
  // The simulator answers a press with a redirect back to the page, or a hand-off to the shop.
  const res = await postForm(form.action, { ...form.fields, ...extra, action: value }, 'follow');
  const html = await res.text();
  if (res.status !== 200) throw new Error(`${value} answered ${res.status}: ${html.slice(0, 300)}`);
  return html;
}

/** Asks `probe` until `ok` (or `ms` passed), then returns its last answer. */
export async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}
