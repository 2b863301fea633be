import Router from '@koa/router';
import type { CoreDeps } from '../../core/deps.ts';
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

/** GET /openapi.json and GET /docs, both built once. */
export function docsRoutes(_deps: CoreDeps): Router {
  const router = new Router();
  let built: { json: string; html: string } | undefined;
  const docs = () => {
    if (!built) {
      const { document } = buildOpenApi();
      built = { json: JSON.stringify(document), html: renderDocsPage(document) };
    }
    return built;
  };
  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = docs().json;
  });
  router.get('/docs', (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = docs().html;
  });
  return router;
}
