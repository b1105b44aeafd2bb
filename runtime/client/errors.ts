import { randomBytes } from 'node:crypto'

/**
 * Every error type the client and the faces raise, in one table. Shapes follow Botpress's client:
 * `{ type, code, message, id, isApiError }`, where `code` is the HTTP status.
 */
export const errorTypes = {
  InvalidPayload: { code: 400, description: 'bad input: a missing or malformed field, a payload that fails its state schema, a row that fails its table schema' },
  Unauthorized: { code: 401, description: 'the HTTP token is missing or wrong' },
  ResourceNotFound: { code: 404, description: 'an unknown id or table, a missing or expired state, a file URL whose token is wrong' },
  MethodNotFound: { code: 405, description: 'no such HTTP route' },
  AlreadyExists: { code: 409, description: 'a record with that id exists already' },
  Runtime: { code: 400, description: "an integration's action failed: its mock threw or broke the action's output schema, or it has none under --strict-actions" },
  PayloadTooLarge: { code: 413, description: 'a state or message payload over 128 KiB, a table row over 4 KB times its table factor, a file over 32 MiB, an HTTP body over 1 MiB' },
  Internal: { code: 500, description: 'a bug in localbot' },
  Unavailable: { code: 503, description: 'the disk is full or the process is out of file descriptors: nothing was written, retry later (Retry-After)' },
} as const

/** The name of an error type, e.g. `ResourceNotFound`. */
export type ErrorType = keyof typeof errorTypes

/** The base of every error the client raises. */
export class ApiError extends Error {
  readonly isApiError = true
  readonly code: number
  readonly id: string

  constructor(readonly type: ErrorType, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = `${type}Error`
    this.code = errorTypes[type].code
    this.id = `err_${randomBytes(8).toString('hex')}`
  }

  /** The JSON body the HTTP face answers with. */
  toJSON() {
    return { code: this.code, type: this.type, message: this.message, id: this.id }
  }
}

function errorClass<T extends ErrorType>(type: T) {
  return class extends ApiError {
    constructor(message: string, options?: ErrorOptions) {
      super(type, message, options)
    }
  }
}

/** An unknown id, or a missing or expired state. */
export const ResourceNotFoundError = errorClass('ResourceNotFound')
/** Bad input. */
export const InvalidPayloadError = errorClass('InvalidPayload')
/** An action that failed where it runs (for integrations' actions here: their mocks). */
export const RuntimeError = errorClass('Runtime')
/** A payload over its size limit. */
export const PayloadTooLargeError = errorClass('PayloadTooLarge')
/** A record exists already. */
export const AlreadyExistsError = errorClass('AlreadyExists')
/** Missing or wrong credentials. */
export const UnauthorizedError = errorClass('Unauthorized')
/** An unknown route. */
export const MethodNotFoundError = errorClass('MethodNotFound')
/** A bug in localbot. */
export const InternalError = errorClass('Internal')
/** The store cannot write for now (disk full, out of file descriptors); it recovers by itself. */
export const UnavailableError = errorClass('Unavailable')

/** Whether `value` is an error raised by the client. */
export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError
}
