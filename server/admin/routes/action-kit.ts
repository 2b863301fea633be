import type { CoreDeps } from '../../../core/deps.ts';
import { GatewayError, ValidationError, type ErrorDetail } from '../../../core/errors.ts';
import type { Order } from '../../../core/orders.ts';
import { describeError, render, seeOther, setFlash, type AdminContext } from '../context.ts';
import type { AdminAuth } from '../session.ts';
import { renderConfirm, type ConfirmInput } from '../views/confirm.ts';
import type { Flash } from '../views/layout.ts';

/**
 * What every dashboard action shares. GET shows the confirmation; POST (with the session's CSRF
 * token, checked before any route) does the work through core/admin-queries.ts and answers 303 to
 * the order with a flash message. Errors the operator can act on come back on the confirmation
 * page, fields named; an unexpected fault is logged and reported on the order page by its error id.
 */
export type ActionError = { message: string; details: readonly ErrorDetail[] };

export const orderUrl = (order: Order) => `/admin/orders/${encodeURIComponent(order.id)}`;

/** A form field as a string ('' when absent or not a string). */
export function formText(ctx: AdminContext, name: string): string {
  const value = (ctx.request as { body?: Record<string, unknown> }).body?.[name];
  return typeof value === 'string' ? value : '';
}

export function optionalReason(value: string, max: number): string | undefined {
  const reason = value.trim();
  if (reason.length > max) throw ValidationError.field('reason', `must be at most ${max} characters`);
  return reason || undefined;
}

export interface ActionKit {
  confirm(ctx: AdminContext, input: Omit<ConfirmInput, 'csrf'>, status?: number): void;
  /** The operator's login goes to the log with every action (the audit trail). */
  audit(ctx: AdminContext, action: string, fields: Record<string, unknown>): void;
  /** Runs an action; known errors re-render its page through `retry`, the rest becomes a flash on the order. */
  perform(ctx: AdminContext, order: Order, retry: (error: ActionError, status: number) => void | Promise<void>, work: () => Promise<Flash>): Promise<void>;
}

export function actionKit(deps: CoreDeps, auth: AdminAuth): ActionKit {
  return {
    confirm(ctx, input, status = 200) {
      render(ctx, auth, { title: input.heading, nav: 'orders', body: renderConfirm({ ...input, csrf: ctx.state.csrf }) }, status);
    },
    audit(ctx, action, fields) {
      deps.logger.info({ admin: ctx.state.session?.user, action, ...fields }, 'admin action');
    },
    async perform(ctx, order, retry, work) {
      let flash: Flash;
      try {
        flash = await work();
      } catch (err) {
        if (err instanceof GatewayError && (err.httpStatus < 500 || err.expose)) {
          await retry({ message: err.message, details: err.details }, err.httpStatus);
          return;
        }
        const described = describeError(err, deps.logger, ctx);
        flash = { kind: 'error', text: `${described.message} Check the timeline below for what changed.` };
      }
      setFlash(ctx, auth, flash);
      seeOther(ctx, orderUrl(order));
    },
  };
}
