import { expect } from 'vitest';
import { UpstreamError } from '../../src/upstream/errors.js';

/** The UpstreamError a PixelByte call failed with (and it must fail with one). */
export async function failureOf(promise: Promise<unknown>): Promise<UpstreamError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}
