// Errors of the admin HTTP API: one factory, a stable code per failure (clients and tests match on
// `code`, never on the message), the HTTP status that goes with it, and optional details.
export type AdminErrorCode =
  | 'ADMIN_ERR_UNAUTHORIZED'
  | 'ADMIN_ERR_NOT_FOUND'
  | 'ADMIN_ERR_METHOD_NOT_ALLOWED'
  | 'ADMIN_ERR_BAD_REQUEST'
  | 'ADMIN_ERR_BODY_TOO_LARGE'
  | 'ADMIN_ERR_CONFIG_INVALID'
  | 'ADMIN_ERR_RELOAD_REFUSED'
  | 'ADMIN_ERR_SHARD_TIMEOUT'
  /** a change of worker count while another one runs or settles */
  | 'ADMIN_ERR_RESIZE_BUSY'
  | 'ADMIN_ERR_INTERNAL';

const STATUS: Record<AdminErrorCode, number> = {
  ADMIN_ERR_UNAUTHORIZED: 401,
  ADMIN_ERR_NOT_FOUND: 404,
  ADMIN_ERR_METHOD_NOT_ALLOWED: 405,
  ADMIN_ERR_BAD_REQUEST: 400,
  ADMIN_ERR_BODY_TOO_LARGE: 413,
  ADMIN_ERR_CONFIG_INVALID: 422,
  ADMIN_ERR_RELOAD_REFUSED: 409,
  ADMIN_ERR_SHARD_TIMEOUT: 504,
  ADMIN_ERR_RESIZE_BUSY: 409,
  ADMIN_ERR_INTERNAL: 500,
};

export class AdminError extends Error {
  readonly code: AdminErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: AdminErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'AdminError';
    this.code = code;
    this.status = STATUS[code];
    this.details = details;
  }

  /** The JSON body: `{ "error": { "code", "message", ...details } }`. */
  toJSON(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export function adminError(code: AdminErrorCode, message: string, details?: Record<string, unknown>): AdminError {
  return new AdminError(code, message, details);
}
