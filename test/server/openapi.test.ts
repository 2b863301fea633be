import Router from '@koa/router';
import { Validator } from '@seriousme/openapi-schema-validator';
import test from 'ava';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type Koa from 'koa';
import type { Db } from '../../core/db.ts';
import { silentLogger } from '../../core/logger.ts';
import { ProviderRegistry } from '../../core/registry.ts';
import { createApp, registeredRoutes } from '../../server/app.ts';
import { GatewayMetrics } from '../../server/metrics.ts';
import { curlFor } from '../../server/openapi/curl.ts';
import { buildOpenApi, documentedAnswer, openApiPath } from '../../server/openapi/document.ts';
import { html as markup } from '../../core/html.ts';
import { ORDER_NO_PATTERN } from '../../core/order-no.ts';
import { EVENT_TYPES } from '../../core/outbox.ts';
import { documentValidator } from '../helpers/openapi-validator.ts';
import { FALLBACK_ROUTES } from '../../server/openapi/operations.ts';
import { ADMIN, paymentBody, withApp, type ApiResponse } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';

/** The app as `npm start` builds it, dashboard included. Building it queries nothing. */
function fullApp(): Koa {
  const db = {} as Db;
  return createApp({ db, registry: new ProviderRegistry([]), logger: silentLogger, now: () => new Date(), metrics: new GatewayMetrics({ db, logger: silentLogger }), admin: ADMIN });
}

/** `METHOD /path` of every route the app registers (simulators under /sim and not-found catch-alls are out of scope). */
function routesOf(app: Koa): string[] {
  return registeredRoutes(app)
    .filter((r) => !r.path.startsWith('/sim/') && !FALLBACK_ROUTES.includes(r.path))
    .map((r) => `${r.method} ${openApiPath(r.path)}`)
    .sort();
}

function operationsOf(document: any): string[] {
  return Object.entries(document.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

/** What the test says about routes without an operation, with the line that documents a page. */
function undocumented(app: Koa, document: any): string[] {
  const documented = new Set(operationsOf(document));
  return routesOf(app)
    .filter((route) => !documented.has(route))
    .map((route) => {
      const [method, path] = route.split(' ');
      return /^\/(checkout|admin)(\/|$)/.test(path!)
        ? `${route}: an HTML page? add ['${method}', '${path}', 'operator', '<what it shows>'] to HTML_PAGES in server/openapi/operations.ts`
        : `${route}: add an operation (its zod schemas, its answers) to OPERATIONS in server/openapi/operations.ts`;
    });
}

test('the OpenAPI document is valid OpenAPI 3.1 and has no loose ends', async (t) => {
  const { document, problems } = buildOpenApi();
  t.deepEqual(problems, []);
  t.is(document.openapi, '3.1.0');
  const result = await new Validator().validate(structuredClone(document));
  t.true(result.valid, JSON.stringify(result.errors, null, 2));
});

test('every route the app registers has an operation, and every operation a route', (t) => {
  const app = fullApp();
  const { document } = buildOpenApi();
  t.deepEqual(undocumented(app, document), []);
  const routes = new Set(routesOf(app));
  t.deepEqual(operationsOf(document).filter((op) => !routes.has(op)), [], 'documented but not served');
  const fallbacks = new Set(registeredRoutes(app).map((r) => r.path));
  t.deepEqual(FALLBACK_ROUTES.filter((path) => !fallbacks.has(path)), [], 'every catch-all left out is still registered');
  // The scope the issue names is there: the merchant API, callbacks, health and the docs themselves.
  for (const route of ['POST /v1/payments', 'POST /callbacks/{provider}/{account}/notify', 'GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json', 'GET /docs']) {
    t.true(routes.has(route), route);
  }
});

test('a new route without an operation is caught: a JSON route needs one, an HTML page a line', (t) => {
  const app = fullApp();
  const extra = new Router();
  extra.post('/v1/widgets', (ctx) => void (ctx.body = {}));
  extra.get('/admin/widgets/:id', (ctx) => void (ctx.body = ''));
  app.use(extra.routes());
  t.deepEqual(undocumented(app, buildOpenApi().document), [
    "GET /admin/widgets/{id}: an HTML page? add ['GET', '/admin/widgets/{id}', 'operator', '<what it shows>'] to HTML_PAGES in server/openapi/operations.ts",
    'POST /v1/widgets: add an operation (its zod schemas, its answers) to OPERATIONS in server/openapi/operations.ts',
  ]);
});

test('request bodies and query parameters come from the schemas the routes validate with', (t) => {
  const { document } = buildOpenApi();
  const create = document.components.schemas.CreatePaymentRequest;
  t.deepEqual(create.required, ['merchantOrderId', 'currency', 'amount', 'items'], 'provider and method are optional (hosted checkout)');
  t.is(create.additionalProperties, false);
  t.is(create.properties.items.items.properties.quantity.minimum, 1);
  t.regex(create.properties.amount.description, /sum of `unitAmount × quantity`/);
  const list = document.paths['/v1/payments'].get;
  t.deepEqual(list.parameters.map((p: any) => p.name), ['status', 'provider', 'from', 'to', 'limit', 'cursor']);
  t.true(list.parameters.find((p: any) => p.name === 'status').schema.enum.includes('paid'));
  t.is(document.paths['/v1/payments/{id}/cancel'].post.requestBody.required, false, 'the cancel body is optional');
  t.is(document.paths['/v1/events/{id}/replay'].post.requestBody, undefined, 'replay takes no body');
  t.deepEqual(document.paths['/metrics'].get.security, [{ metricsToken: [] }, {}]);
});

/** Holds a live answer to the schema its operation documents for that status. */
function conforms(t: any, method: string, path: string, res: ApiResponse): void {
  const schema = documentedAnswer(method, path, res.status);
  if (!schema) {
    t.fail(`${method} ${path} documents no JSON answer for ${res.status}: ${res.text}`);
    return;
  }
  const parsed = schema.safeParse(res.body);
  t.true(parsed.success, `${method} ${path} ${res.status}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues)}`);
}

dbTest('live answers match the documented answers, field for field', async (t, h) => {
  await withApp(t, h, async (app) => {
    const created = await app.api('POST', '/v1/payments', paymentBody());
    conforms(t, 'post', '/v1/payments', created);
    const hosted = paymentBody();
    delete hosted.provider;
    delete hosted.method;
    conforms(t, 'post', '/v1/payments', await app.api('POST', '/v1/payments', hosted));
    const atm = await app.api('POST', '/v1/payments', paymentBody({ method: 'atm' }));
    conforms(t, 'post', '/v1/payments', atm);
    conforms(t, 'post', '/v1/payments', await app.api('POST', '/v1/payments', paymentBody({ amount: -1 })));
    conforms(t, 'get', '/v1/payments/{id}', await app.api('GET', `/v1/payments/${created.body.id}`));
    conforms(t, 'get', '/v1/payments/{id}', await app.api('GET', '/v1/payments/pay_nope'));
    conforms(t, 'get', '/v1/payments', await app.api('GET', '/v1/payments?limit=2'));
    conforms(t, 'get', '/v1/payments', await app.api('GET', '/v1/payments', undefined, { authorization: 'Bearer wrong' }));
    conforms(t, 'post', '/v1/payments/{id}/cancel', await app.api('POST', `/v1/payments/${atm.body.id}/cancel`, { reason: 'changed my mind' }));

    await app.control('pay', created.body.orderNo);
    conforms(t, 'post', '/v1/payments/{id}/refunds', await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 100, reason: 'one cup broken' }));
    conforms(t, 'post', '/v1/payments/{id}/refunds', await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 10_000_000 }));
    conforms(t, 'get', '/v1/payments/{id}/refunds', await app.api('GET', `/v1/payments/${created.body.id}/refunds`));

    const events = await app.api('GET', '/v1/events');
    conforms(t, 'get', '/v1/events', events);
    t.true(events.body.data.length >= 3);
    conforms(t, 'get', '/v1/events/{id}', await app.api('GET', `/v1/events/${events.body.data[0].id}`));
    conforms(t, 'post', '/v1/events/{id}/replay', await app.api('POST', `/v1/events/${events.body.data[0].id}/replay`));

    const health = await app.raw('GET', '/healthz');
    conforms(t, 'get', '/healthz', { ...health, body: JSON.parse(health.text) });
    const ready = await app.raw('GET', '/readyz');
    conforms(t, 'get', '/readyz', { ...ready, body: JSON.parse(ready.text) });
  });
});

dbTest('GET /openapi.json serves the document; GET /docs renders it as a page without script', async (t, h) => {
  await withApp(t, h, async (app) => {
    const json = await app.raw('GET', '/openapi.json');
    t.is(json.status, 200);
    t.regex(json.headers.get('content-type') ?? '', /^application\/json/);
    const document = JSON.parse(json.text);
    t.deepEqual(document, JSON.parse(JSON.stringify(buildOpenApi({ serverUrl: app.url }).document)));

    const page = await app.raw('GET', '/docs');
    t.is(page.status, 200);
    t.regex(page.headers.get('content-type') ?? '', /^text\/html/);
    t.regex(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const html = page.text;
    t.regex(html, /<h3 id="op-createPayment-title"><span class="method m-post">POST<\/span><code>\/v1<wbr>\/payments<\/code><\/h3>/);
    t.regex(html, /<p><strong>Create a payment<\/strong><\/p>/);
    t.regex(html, /<code>merchantOrderId<\/code>/, 'the request body is listed field by field');
    t.regex(html, /href="#schema-Payment"/);
    t.regex(html, /Authorization: Bearer &lt;api key&gt;/);
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, { operationId: string }>>)) {
      for (const op of Object.values(item)) t.true(html.includes(`id="op-${op.operationId}"`), `${path} ${op.operationId} is on the page`);
    }
    t.notRegex(html, /<script|<link|\bsrc=/i, 'no script and nothing fetched from elsewhere');
    t.regex(html, /<html lang="en">/);
    t.regex(html, /<nav aria-label="Operations">/);
  });
});

// ---------------------------------------------------------------------------------------------
// Examples, servers, webhooks and the curl lines of /docs

interface ExampleAt {
  where: string;
  schema: string[];
  value: unknown;
}

// The tests below that only build and check the document are serial: ava runs serial tests first,
// so their CPU time never starves a database connection another test of this file is opening.

/** Every example the document publishes, each with the pointer of the schema it stands beside. */
function examplesIn(document: any): { examples: ExampleAt[]; missing: string[] } {
  const examples: ExampleAt[] = [];
  const missing: string[] = [];
  const operations: [string[], string, any][] = [];
  for (const [path, item] of Object.entries(document.paths as Record<string, any>)) {
    for (const [method, op] of Object.entries(item as Record<string, any>)) operations.push([['paths', path, method], `${method.toUpperCase()} ${path}`, op]);
  }
  for (const [type, item] of Object.entries(document.webhooks as Record<string, any>)) operations.push([['webhooks', type, 'post'], `webhook ${type}`, item.post]);
  for (const [at, label, op] of operations) {
    (op.parameters ?? []).forEach((p: any, i: number) => {
      const [param, base] = p.$ref ? [document.components.parameters[p.$ref.split('/').pop()], ['components', 'parameters', p.$ref.split('/').pop()]] : [p, [...at, 'parameters', String(i)]];
      // The optional Idempotency-Key and User-Agent go without an example in a request that does not need one.
      if (param.example === undefined) {
        if (param.required || param.in !== 'header') missing.push(`${label}: parameter ${param.name}`);
        return;
      }
      examples.push({ where: `${label}: parameter ${param.name}`, schema: [...base, 'schema'], value: param.example });
    });
    for (const [media, content] of Object.entries((op.requestBody?.content ?? {}) as Record<string, any>)) {
      const named = Object.entries((content.examples ?? {}) as Record<string, any>);
      if (named.length === 0) missing.push(`${label}: request body ${media}`);
      for (const [name, example] of named) examples.push({ where: `${label}: request ${name}`, schema: [...at, 'requestBody', 'content', media, 'schema'], value: example.value });
    }
    for (const [status, reply] of Object.entries(op.responses as Record<string, any>)) {
      for (const [media, content] of Object.entries((reply.content ?? {}) as Record<string, any>)) {
        const named = Object.entries((content.examples ?? {}) as Record<string, any>);
        if (named.length === 0) missing.push(`${label}: answer ${status} ${media}`);
        for (const [name, example] of named) examples.push({ where: `${label}: answer ${status} ${name}`, schema: [...at, 'responses', status, 'content', media, 'schema'], value: example.value });
      }
    }
  }
  return { examples, missing };
}

/** Every string under a key named `key` anywhere in `value`. */
function stringsAt(value: unknown, key: string): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => stringsAt(v, key));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [...(k === key && typeof v === 'string' ? [v] : []), ...stringsAt(v, key)]);
}

test.serial('every example the document publishes holds to the schema beside it, and every body, query and answer has one', (t) => {
  const { document } = buildOpenApi({ serverUrl: 'https://pay.shop.example.com' });
  const { examples, missing } = examplesIn(document);
  t.deepEqual(missing, []);
  const validator = documentValidator(document);
  for (const example of examples) t.deepEqual(validator.check(example.schema, example.value), [], example.where);

  // Every operation with a body or a query has a request example; every JSON answer has its own.
  const create = document.paths['/v1/payments'].post;
  t.deepEqual(Object.keys(create.requestBody.content['application/json'].examples), ['hostedCheckout', 'sinopacAtm']);
  t.true(document.paths['/v1/payments'].get.parameters.every((p: any) => p.example !== undefined), 'each query parameter of the list');
  t.truthy(document.paths['/v1/payments/{id}/refunds'].post.responses['422'].content['application/json'].examples.example.value.error.code);
  t.true(examples.length > 150, `${examples.length} examples`);

  // Realistic: ids in the API's formats, TWD in minor units, zh-TW words; clearly fake: example hosts and ids.
  const values = examples.map((e) => e.value);
  for (const id of [...stringsAt(values, 'id'), ...stringsAt(values, 'paymentId')]) t.regex(id, /^(pay|evt|ref)_[A-Za-z0-9]{22}$/, id);
  for (const orderNo of stringsAt(values, 'orderNo')) t.regex(orderNo, ORDER_NO_PATTERN, orderNo);
  for (const refundNo of stringsAt(values, 'refundNo')) t.regex(refundNo, /^R\d{12}[0-9A-Z]{8}$/, refundNo);
  for (const url of [...stringsAt(values, 'returnUrl'), ...stringsAt(values, 'checkoutUrl')]) t.regex(url, /^https:\/\/(shop|pay\.shop)\.example\.com\//, url);
  const body = create.requestBody.content['application/json'].examples.hostedCheckout.value;
  t.is(body.amount, body.items.reduce((sum: number, i: any) => sum + i.unitAmount * i.quantity, 0), 'amount is the sum of the items, in minor units');
  t.is(body.currency, 'TWD');
  t.regex(body.subject, /\p{Script=Han}/u, 'a zh-TW subject');
  t.notRegex(JSON.stringify(document), /pgk_[A-Za-z0-9]{40}|whsec_[A-Za-z0-9]{40}/, 'no API key or webhook secret, even a made-up one that looks real');
});

test.serial('the example check is a real check: a wrong example is caught where it stands', (t) => {
  const { document } = buildOpenApi();
  const validator = documentValidator(document);
  const at = ['paths', '/v1/payments', 'post', 'requestBody', 'content', 'application/json', 'schema'];
  const good = document.paths['/v1/payments'].post.requestBody.content['application/json'].examples.hostedCheckout.value;
  t.deepEqual(validator.check(at, good), []);
  t.notDeepEqual(validator.check(at, { ...good, amount: 799.5 }), [], 'amounts are integers');
  t.notDeepEqual(validator.check(at, { ...good, colour: 'red' }), [], 'no other fields');
  const payment = ['components', 'schemas', 'Payment'];
  const answer = document.paths['/v1/payments'].post.responses['201'].content['application/json'].examples.hostedCheckout.value;
  t.deepEqual(validator.check(payment, answer), []);
  t.notDeepEqual(validator.check(payment, { ...answer, createdAt: 'yesterday' }), [], 'formats are checked');
  t.notDeepEqual(validator.check(['components', 'schemas', 'PaymentPaidEvent'], { ...document.webhooks['payment.paid'].post.requestBody.content['application/json'].examples.example.value, type: 'payment.failed' }), [], 'a body names its own type');
});

test('GET /openapi.json and /docs name the configured public URL (PAYGATE_PUBLIC_URL), whatever the request’s Host', async (t) => {
  const db = {} as Db;
  const app = createApp({ db, registry: new ProviderRegistry([]), logger: silentLogger, now: () => new Date(), publicUrl: 'https://pay.shop.example.com' });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const document = await (await fetch(`${base}/openapi.json`)).json();
    t.deepEqual(document.servers.map((s: any) => s.url), ['https://pay.shop.example.com']);
    const html = await (await fetch(`${base}/docs`)).text();
    t.true(html.includes(`curl &#39;https://pay.shop.example.com/v1/payments&#39;`));
    t.false(html.includes(base), 'the address the request came to is not the server');
  } finally {
    server.close();
  }
});

test.serial('servers is the configured public URL; webhooks has one entry per event type, signed', (t) => {
  const { document, problems } = buildOpenApi({ serverUrl: 'https://pay.shop.example.com/' });
  t.deepEqual(problems, []);
  t.deepEqual(document.servers.map((s: any) => s.url), ['https://pay.shop.example.com']);
  t.deepEqual(Object.keys(document.webhooks), [...EVENT_TYPES]);
  for (const type of EVENT_TYPES) {
    const post = document.webhooks[type].post;
    const signature = post.parameters.find((p: any) => p.name === 'Paygate-Signature');
    t.true(signature?.required, type);
    t.regex(signature.description, /HMAC-SHA256/);
    t.regex(post.requestBody.content['application/json'].schema.$ref, /^#\/components\/schemas\/\w+Event$/, type);
    t.is(post.requestBody.content['application/json'].examples.example.value.type, type);
  }
});

/** The curl line of one operation as /docs shows it, unescaped. */
function curlOnPage(html: string, operationId: string): string | undefined {
  const match = new RegExp(`<pre class="curl" aria-label="curl for ${operationId}"><code>([\\s\\S]*?)</code></pre>`).exec(html);
  return match?.[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

dbTest('/docs shows a curl line for every operation, and the create-payment one creates a payment when run', async (t, h) => {
  await withApp(t, h, async (app) => {
    const document = JSON.parse((await app.raw('GET', '/openapi.json')).text);
    t.deepEqual(document.servers.map((s: any) => s.url), [app.url], 'without PAYGATE_PUBLIC_URL, the URL the request came to');
    const html = (await app.raw('GET', '/docs')).text;
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(item)) {
        const curl = curlFor(document, path, method, op);
        t.true(html.includes(markup`<code>${curl}</code>`.toString()), `${op.operationId}: ${curl}`);
        t.true(curl.startsWith(`curl ${method === 'get' || op.requestBody ? '' : `-X ${method.toUpperCase()} `}'${app.url}/`), curl);
        if (op.security?.some((s: any) => 'merchantApiKey' in s)) t.true(curl.includes('-H "Authorization: Bearer $PAYGATE_API_KEY"'), op.operationId);
      }
    }
    t.notRegex(html, /<script|<link|\bsrc=/i);

    const line = curlOnPage(html, 'createPayment');
    t.truthy(line);
    t.true(line!.includes('--data-raw '), line);
    const run = await promisify(execFile)('sh', ['-c', `${line} --silent --show-error --write-out '\\n%{http_code}'`], {
      env: { PATH: process.env.PATH, PAYGATE_API_KEY: app.merchant.apiKey },
    });
    const [body, status] = [run.stdout.slice(0, run.stdout.lastIndexOf('\n')), run.stdout.slice(run.stdout.lastIndexOf('\n') + 1)];
    t.is(status, '201', run.stdout + run.stderr);
    const created = JSON.parse(body);
    const stored = await app.api('GET', `/v1/payments/${created.id}`);
    t.is(stored.status, 200);
    t.is(stored.body.merchantOrderId, 'A1001');
    t.is(stored.body.amount, 79900);
    t.is(stored.body.status, 'created', 'a hosted checkout, waiting for the buyer');
    t.true(stored.body.checkoutUrl.startsWith(`${app.url}/checkout/`));
  });
});
