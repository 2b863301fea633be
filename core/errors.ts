/**
 * One error base for everything the gateway raises on purpose. The server maps these to HTTP in one
 * place (server/middleware/errors.ts); anything that is not a GatewayError is a bug and becomes a 500.
 */
export interface ErrorDetail {
  /** Dotted path of the field at fault, e.g. `items.0.quantity`; empty for the body as a whole. */
  path: string;
  message: string;
}

export interface GatewayErrorOptions {
  httpStatus?: number;
  /** Whether the message may be shown to the caller. */
  expose?: boolean;
  /** Whether trying the same thing again later may succeed (network faults, a locked row). */
  retryable?: boolean;
  details?: ErrorDetail[];
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly expose: boolean;
  readonly retryable: boolean;
  readonly details: ErrorDetail[];

  constructor(code: string, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = options.httpStatus ?? 500;
    this.expose = options.expose ?? this.httpStatus < 500;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? [];
  }
}

export class ValidationError extends GatewayError {
  constructor(message: string, details: ErrorDetail[] = [], code = 'invalid_request') {
    super(code, message, { httpStatus: 400, details });
  }

  static field(path: string, message: string, code = 'invalid_request'): ValidationError {
    return new ValidationError(`${path}: ${message}`, [{ path, message }], code);
  }
}

export class AuthenticationError extends GatewayError {
  constructor(message = 'A valid API key is required (Authorization: Bearer <key>)') {
    super('unauthorized', message, { httpStatus: 401 });
  }
}

export class NotFoundError extends GatewayError {
  constructor(what: string, code = 'not_found') {
    super(code, `${what} not found`, { httpStatus: 404 });
  }
}

export class ConflictError extends GatewayError {
  constructor(code: string, message: string, details: ErrorDetail[] = []) {
    super(code, message, { httpStatus: 409, details });
  }
}

/** A request well formed and allowed for this payment's state, that can never succeed as asked. */
export class UnprocessableError extends GatewayError {
  constructor(code: string, message: string, details: ErrorDetail[] = []) {
    super(code, message, { httpStatus: 422, details });
  }
}

/** A move the state machine does not allow. Logged, never applied. */
export class IllegalTransitionError extends GatewayError {
  constructor(readonly from: string, readonly to: string) {
    super('illegal_transition', `An order cannot move from ${from} to ${to}`, { httpStatus: 409 });
  }
}

/** The provider could not be reached or answered something we cannot read: a fault, not a decline. */
export class ProviderUnavailableError extends GatewayError {
  /**
   * The provider's answer proves it refused this account's credentials (a request it could not
   * decrypt or verify, HTTP 401, an unknown app id): trying again cannot help until the configuration
   * is fixed. Core then marks the account rejected (core/provider-health.ts).
   */
  readonly credentialsRejected: boolean;

  constructor(message: string, cause?: unknown, options: { credentialsRejected?: boolean } = {}) {
    super('provider_unavailable', message, { httpStatus: 502, expose: true, retryable: true, cause });
    this.credentialsRejected = options.credentialsRejected ?? false;
  }
}

/** Whether `err` is a provider fault that proves the account's credentials were refused. */
export function isCredentialsRejection(err: unknown): err is ProviderUnavailableError {
  return err instanceof ProviderUnavailableError && err.credentialsRejected;
}

/**
 * The account's credentials were refused by its provider (its last probe or call said so): nothing
 * is sent to the provider until a probe succeeds again. Not retryable: an operator must fix the keys.
 */
export class ProviderMisconfiguredError extends GatewayError {
  constructor(provider: string, account: string, cause?: unknown) {
    super('provider_misconfigured', `${provider} account ${account} is misconfigured: the provider refuses its credentials. Nothing was charged; an operator must fix the account's keys`, {
      httpStatus: 503,
      expose: true,
      retryable: false,
      cause,
      details: [{ path: `providers.${provider}.${account}`, message: 'credentials rejected by the provider' }],
    });
  }
}

/** Configuration that cannot work; raised at boot with every problem listed. */
export class ConfigError extends GatewayError {
  constructor(message: string, details: ErrorDetail[] = []) {
    super('config_invalid', message, { httpStatus: 500, expose: false, details });
  }
}

/** The database could not be reached or timed out: callers answer "try again". */
export class StorageUnavailableError extends GatewayError {
  constructor(cause?: unknown) {
    super('storage_unavailable', 'The database is not reachable right now', {
      httpStatus: 503,
      expose: true,
      retryable: true,
      cause,
    });
  }
}
