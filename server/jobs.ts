import type { AppConfig } from '../core/config.ts';
import type { CoreDeps } from '../core/deps.ts';
import { callbackRetentionJob } from '../core/jobs/callback-retention.ts';
import { expiryJob } from '../core/jobs/expiry.ts';
import { inboxRetryJob } from '../core/jobs/inbox-retry.ts';
import { reconcileJob, reconcileSweepJob } from '../core/jobs/reconcile.ts';
import { refundRecheckJob } from '../core/jobs/refund-recheck.ts';
import type { Job } from '../core/jobs/runner.ts';
import { webhookDeliveryJob } from '../core/jobs/webhook-delivery.ts';

/** Every background job, as `npm start` (inline) and `npm run worker` run them. */
export function backgroundJobs(deps: CoreDeps, owner: string, config: Pick<AppConfig, 'callbackRetentionDays'>): Job[] {
  return [
    inboxRetryJob(deps, owner),
    webhookDeliveryJob(deps, owner),
    reconcileJob(deps, owner),
    reconcileSweepJob(deps),
    expiryJob(deps, owner),
    refundRecheckJob(deps),
    callbackRetentionJob(deps, { retentionDays: config.callbackRetentionDays }),
  ];
}
