/**
 * One account's configuration, parsed once at boot by zod (docs/providers.md#configuration),
 * written from the template (providers/_template). A real provider puts its credentials here (names
 * the logger redacts: server/logger.ts), `baseUrl` (so tests and the demo point the adapter at the
 * simulator), timeouts, and what its spec leaves open (UNVERIFIED values as settings with defaults).
 * `Config` is what PAYGATE_CONFIG holds and the simulator hands out; `Settings` is the same after
 * the schema filled in its defaults: the adapter only ever sees Settings.
 */
import { z } from 'zod';

export const fakePayConfig = z.strictObject({
  merchantId: z.string().min(1),
  secret: z.string().min(16),
  baseUrl: z.string().url(),
  ackAfter: z.enum(['stored', 'applied']).default('applied'),
  timeoutMs: z.int().min(100).default(5_000),
  callbackBaseUrl: z.string().url().optional(),
});
export type FakePayConfig = z.input<typeof fakePayConfig>;
export type FakePaySettings = z.output<typeof fakePayConfig>;
