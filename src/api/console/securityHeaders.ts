/**
 * The console's Content-Security-Policy. Scripts, styles, fonts and API calls come from this server only, with no
 * inline script or style. Images are the exception: an edit's sources and outputs live on other origins (PixelByte's
 * CDN, the deployment's bucket behind presigned mirror URLs, any URL a client named as an input), which are not
 * known when the page is served, so img-src allows any http(s) origin. An image cannot run script or read the page,
 * and the page sends no credential with it (the API key is only ever an Authorization header to this server).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: http: https:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const CONSOLE_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  // Output URLs carry presigned query strings; the page's own URL never carries a key, but no referrer is the default.
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};
