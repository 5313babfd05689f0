// One error hierarchy with stable codes (undici/fastify style): callers and tests match on `code`.
export type ErrorCode =
  | 'SIP_ERR_PARSE'
  | 'SIP_ERR_TOO_LARGE'
  | 'SIP_ERR_BAD_HEADER'
  | 'SIP_ERR_BAD_URI'
  | 'SIP_ERR_VERSION'
  | 'SIP_ERR_CONFIG'
  | 'SIP_ERR_CONFIG_FILE'
  | 'SIP_ERR_TRANSPORT'
  /** the native UDP addon (native/udp_batch.c) refused a call or is not built; dgram is used instead */
  | 'SIP_ERR_NATIVE_UDP'
  | 'SIP_ERR_FRAMING'
  | 'SIP_ERR_SHARD'
  | 'SIP_ERR_AUTH'
  | 'SIP_ERR_SNAPSHOT'
  /** a change of worker count while another one runs or settles (pinned calls, retiring shards) */
  | 'SIP_ERR_RESIZE_BUSY'
  /** a worker count that is not an integer in 1..MAX_WORKERS */
  | 'SIP_ERR_RESIZE_COUNT';

export class SipProxyError extends Error {
  readonly code: ErrorCode;
  /** SIP status a request that failed this way should be answered with, when one applies. */
  readonly status: number | undefined;
  constructor(code: ErrorCode, message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SipProxyError';
    this.code = code;
    this.status = status;
  }
}

export function createError(code: ErrorCode, message: string, status?: number): SipProxyError {
  return new SipProxyError(code, message, status);
}

export function isSipProxyError(err: unknown, code?: ErrorCode): err is SipProxyError {
  return err instanceof SipProxyError && (code === undefined || err.code === code);
}
