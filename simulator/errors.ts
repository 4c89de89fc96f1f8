/** An error answered in PixelByte's shape: `{ success:false, error:{code,message,details}, requestId }`. */
export class SimError extends Error {
  override name = 'SimError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

export function errorBody(err: SimError, requestId: string) {
  return { success: false as const, error: { code: err.code, message: err.message, details: err.details }, requestId };
}

export const invalidInput = (message: string, issues?: { path: string; message: string }[]) =>
  new SimError(400, 'INVALID_INPUT', message, issues ? { issues } : null);
export const jobNotFound = (jobId: string) => new SimError(404, 'JOB_NOT_FOUND', `Job ${jobId} not found`);
