import { hostname } from 'node:os';
import { loadConfig } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';
import { JobRunner } from '../core/jobs/runner.ts';
import { createApp } from './app.ts';
import { BackgroundTasks } from './background.ts';
import { appDeps, bootstrap, ensureDemoMerchant } from './bootstrap.ts';
import { backgroundJobs } from './jobs.ts';

/** `npm start`: migrate, then serve; the job runner runs in this process unless told otherwise. */
async function main(): Promise<void> {
  const config = loadConfig();
  const runtime = await bootstrap(config);
  const { deps, logger } = runtime;
  await ensureDemoMerchant(runtime.db, config.demoApiKey);

  const background = new BackgroundTasks();
  const app = createApp(await appDeps(config, runtime, background));
  const server = app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  logger.info({ url: config.publicUrl, port: config.port, database: config.databaseUrl.split(':')[0] }, 'paygate listening');

  const runner = new JobRunner(backgroundJobs(deps, `${hostname()}:${process.pid}`), logger);
  if (config.inlineWorker) runner.start();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Stop taking requests and let the ones in flight finish before the database goes away: a
    // checkout between the provider's answer and our write must be allowed to write.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const hardStop = setTimeout(() => server.closeAllConnections(), 25_000);
    hardStop.unref();
    await closed;
    await runner.stop();
    await background.drain();
    await runtime.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`paygate: ${err.message}\n`);
  } else {
    process.stderr.write(`paygate failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  }
  process.exit(1);
});
