/**
 * Preloaded into every gateway child process the reliability tests start (`node --import=tsx
 * --import=./test/reliability/orphan-guard.ts server/main.ts`): if the test process that started it
 * goes away without stopping it (ava killed, a SIGKILLed test run), the gateway kills itself instead
 * of running on unowned. An orphan is re-parented, so its parent pid changes.
 */
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
}, 500).unref();
