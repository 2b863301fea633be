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
