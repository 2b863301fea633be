import Router from '@koa/router';
import { Validator } from '@seriousme/openapi-schema-validator';
import test from 'ava';
import type Koa from 'koa';
import type { Db } from '../../core/db.ts';
import { silentLogger } from '../../core/logger.ts';
import { ProviderRegistry } from '../../core/registry.ts';
import { createApp, registeredRoutes } from '../../server/app.ts';
import { GatewayMetrics } from '../../server/metrics.ts';
import { buildOpenApi, documentedAnswer, openApiPath } from '../../server/openapi/document.ts';
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
    t.deepEqual(document, JSON.parse(JSON.stringify(buildOpenApi().document)));

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
