import { isScenestreamError, ssError, type ScenestreamError } from '../schemas/errors.js';

/**
 * Wraps what a user function threw so that the dead letter names the step. A ScenestreamError
 * thrown on purpose keeps its code and gains the step id if it had none.
 */
export function userError(stepId: string, e: unknown): ScenestreamError {
  if (isScenestreamError(e)) {
    return e.stepId !== undefined ? e : ssError(e.code, e.message, { ...e.details, stepId });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return ssError('SS_ERR_USER_FUNCTION', `user function threw: ${msg}`, { stepId, cause: e });
}
