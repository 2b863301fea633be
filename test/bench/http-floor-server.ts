/**
 * The HTTP floor: a bare Koa app with the merchant API's body parser (koa-bodyparser, here for the
 * form bodies providers post) answering `success` — what any handler pays before doing anything.
 * Its own process, like the gateway. Env: PORT.
 */
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';

const app = new Koa();
app.use(bodyParser({ enableTypes: ['json', 'form'], formLimit: '256kb', jsonLimit: '100kb' }));
app.use((ctx) => {
  ctx.type = 'text/plain';
  ctx.body = 'success';
});
const server = app.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
