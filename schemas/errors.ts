/**
 * The one error catalogue of scenestream.
 *
 * Every error the engine raises on purpose has a stable code here, told apart by `code` (never by
 * `instanceof`, which breaks across module copies), and says whether retrying can help and whether
 * the record that caused it goes to the dead-letter output. `docs/errors.md` documents each code;
 * `schemas/errors.test.ts` fails when a code is undocumented.
 */

export interface ErrorSpec {
  /** What happened, for humans. */
  readonly what: string;
  /** Whether the same operation may succeed if retried (transient infrastructure trouble). */
  readonly retryable: boolean;
  /** Whether the offending record is written to the dead-letter output (`<topic>.dlq`). */
  readonly deadLetter: boolean;
  /** The HTTP status an API answers with it (its JSON body: `{code, message, field?}`); absent for errors no route returns. */
  readonly status?: number;
}

export const ERRORS = {
  SS_ERR_DECODE: {
    what: 'A record could not be decoded (bad Avro bytes, wrong magic byte, unknown schema id, bad JSON).',
    retryable: false,
    deadLetter: true,
  },
  SS_ERR_VALIDATION: {
    what: 'A record decoded but does not satisfy its schema or contract; the message names the field.',
    retryable: false,
    deadLetter: true,
  },
  SS_ERR_EVENT_TIME: {
    what: 'A record stamped further in the future than the bound allows (a clock or a producer gone wrong); it never moves event time.',
    retryable: false,
    deadLetter: true,
  },
  SS_ERR_SCHEMA: {
    what: 'A schema file is missing or is not valid Avro.',
    retryable: false,
    deadLetter: false,
  },
  SS_ERR_CONFIG: {
    what: 'Configuration is invalid; the message names the bad field.',
    retryable: false,
    deadLetter: false,
    status: 422,
  },
  SS_ERR_GRAPH_DUPLICATE_STEP: {
    what: 'Two stateful steps of one pipeline share a step id; state would collide.',
    retryable: false,
    deadLetter: false,
  },
  SS_ERR_GRAPH_INVALID: {
    what: 'The operator graph is malformed (bad window size, pattern without a time bound, missing step id, dangling stream).',
    retryable: false,
    deadLetter: false,
  },
  SS_ERR_USER_FUNCTION: {
    what: 'A user function (map, filter, key selector, aggregator) threw on a record; the record is dead-lettered and the stream goes on.',
    retryable: false,
    deadLetter: true,
  },
  SS_ERR_STATE_RESTORE: {
    what: 'A state snapshot could not be restored (wrong format version, or written by a different graph).',
    retryable: false,
    deadLetter: false,
  },
  SS_ERR_SERVICE_UNAVAILABLE: {
    what: 'Kafka or Redis could not be reached; the engine pauses its sources and retries with backoff.',
    retryable: true,
    deadLetter: false,
    status: 503,
  },
  SS_ERR_TOPICS: {
    what: "The job's Kafka topics are missing, not co-partitioned, or got no partition leaders in time; the message lists them.",
    retryable: false,
    deadLetter: false,
  },
  SS_ERR_INPUT_KEY: {
    what: "An input record's Kafka key is not its customer id, so it may sit on a partition without that customer's state; it goes to the dead-letter topic.",
    retryable: false,
    deadLetter: true,
  },
  SS_ERR_INPUT_GAP: {
    what: 'Input records were deleted (retention, truncation) before the job read them; logged and counted, and the job stops when told to (INPUT_GAP_POLICY=fail).',
    retryable: false,
    deadLetter: false,
  },
  SS_ERR_OUTPUT_TOO_LARGE: {
    what: "An output record is larger than the broker accepts; it goes to its topic's dead-letter topic with its id and size instead, and the partition goes on.",
    retryable: false,
    deadLetter: true,
  },
  SS_ERR_SINK_FAILED: {
    what: 'A sink failed to deliver after its retries; its input is paused, nothing consumed is lost.',
    retryable: true,
    deadLetter: false,
  },
  SS_ERR_DATASET_ROW: {
    what: 'A row of an external dataset could not be turned into an event; it is counted by reason and skipped.',
    retryable: false,
    deadLetter: true,
  },
  SS_ERR_HTTP_BAD_REQUEST: {
    what: 'An HTTP request has a bad path or query parameter; the message and `field` name it.',
    retryable: false,
    deadLetter: false,
    status: 400,
  },
  SS_ERR_HTTP_UNAUTHORIZED: {
    what: 'An HTTP request to an authenticated route has no bearer token, or one that is not configured.',
    retryable: false,
    deadLetter: false,
    status: 401,
  },
  SS_ERR_HTTP_FORBIDDEN: {
    what: "An HTTP request's bearer token is valid but its role may not use the route.",
    retryable: false,
    deadLetter: false,
    status: 403,
  },
  SS_ERR_HTTP_NOT_FOUND: {
    what: 'An HTTP request names something that does not exist (a customer with no profile, no campaign file to reload).',
    retryable: false,
    deadLetter: false,
    status: 404,
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** Fields that locate the failure, when known. All optional; all end up in dead-letter headers. */
export interface ErrorDetails {
  /** The pipeline step that raised it. */
  stepId?: string;
  /** The field of a record or configuration at fault, as a dotted path (`items.0.quantity`). */
  field?: string;
  topic?: string;
  partition?: number;
  offset?: string;
  cause?: unknown;
}

/** The single error class of the engine; tell errors apart by `code`. */
export class ScenestreamError extends Error {
  readonly _tag = 'ScenestreamError' as const;
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly deadLetter: boolean;
  readonly stepId: string | undefined;
  readonly field: string | undefined;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    const where = details.stepId !== undefined ? `[step ${details.stepId}] ` : '';
    super(`${code}: ${where}${message}`, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'ScenestreamError';
    this.code = code;
    this.retryable = ERRORS[code].retryable;
    this.deadLetter = ERRORS[code].deadLetter;
    this.stepId = details.stepId;
    this.field = details.field;
    this.details = details;
  }
}

/** Structural check that works across module copies and realms. */
export function isScenestreamError(e: unknown, code?: ErrorCode): e is ScenestreamError {
  if (typeof e !== 'object' || e === null) return false;
  const tagged = e as { _tag?: unknown; code?: unknown };
  return tagged._tag === 'ScenestreamError' && (code === undefined || tagged.code === code);
}

export function ssError(code: ErrorCode, message: string, details?: ErrorDetails): ScenestreamError {
  return new ScenestreamError(code, message, details);
}
