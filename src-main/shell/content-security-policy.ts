/**
 * The renderer's Content-Security-Policy: no remote origins, no eval, no inline script. Browser mode adds
 * the loopback bridge to connect-src; the Electron window talks over IPC and needs no connection at all.
 */
export function contentSecurityPolicy(options: { bridgeOrigin?: string } = {}): string {
  const connect = options.bridgeOrigin ? `'self' ${options.bridgeOrigin}` : `'self'`;
  return [
    `default-src 'none'`,
    `script-src 'self' 'wasm-unsafe-eval'`,
    `style-src 'self' 'unsafe-inline'`,
    `img-src 'self' data: blob:`,
    `font-src 'self'`,
    `connect-src ${connect}`,
    `worker-src 'self' blob:`,
    `base-uri 'none'`,
    `form-action 'none'`,
    `frame-ancestors 'none'`,
    `object-src 'none'`,
  ].join('; ');
}
