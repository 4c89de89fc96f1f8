/** The value a JSON text holds, or undefined for text that is not JSON (an empty body included): never a throw. */
export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
