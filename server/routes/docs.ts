import Router from '@koa/router';
import { buildOpenApi } from '../openapi/document.ts';
import { renderDocsPage } from '../openapi/page.ts';

/**
 * GET /openapi.json (OpenAPI 3.1) and GET /docs (the same document as a page). The document is
 * built in server/openapi/: request bodies and query parameters come from the zod schemas the routes
 * validate with, so a change there shows here at once; what zod cannot say (summaries, answers,
 * auth) is in the tables of server/openapi/operations.ts. The test (test/server/openapi.test.ts)
 * fails when the app registers a route this document does not have.
 *
 * Adding a route: a JSON route gets an OPERATIONS entry (its zod body or `null`, its answers); an
 * HTML page under /checkout or /admin needs one line in HTML_PAGES (both in
 * server/openapi/operations.ts).
 */

/**
 * GET /openapi.json and GET /docs, built once per server URL: the configured public URL
 * (PAYGATE_PUBLIC_URL), or, where none is given (tests), the origin the request came to.
 */
export function docsRoutes(deps: { publicUrl?: string }): Router {
  const router = new Router();
  const built = new Map<string, { json: string; html: string }>();
  const docs = (origin: string) => {
    const serverUrl = deps.publicUrl ?? origin;
    let entry = built.get(serverUrl);
    if (!entry) {
      const { document } = buildOpenApi({ serverUrl });
      entry = { json: JSON.stringify(document), html: renderDocsPage(document).toString() };
      // Only one entry when the URL is configured; a few request origins otherwise (a Host header is the client's to choose).
      if (built.size >= 8) built.clear();
      built.set(serverUrl, entry);
    }
    return entry;
  };
  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = docs(`${ctx.protocol}://${ctx.host}`).json;
  });
  router.get('/docs', (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = docs(`${ctx.protocol}://${ctx.host}`).html;
  });
  return router;
}
