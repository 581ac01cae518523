/**
 * Whether an `X-Forwarded-Proto` header says the client's connection was HTTPS, as express-session reads it
 * (with `proxy: true`): the first value of a comma-separated list, trimmed, compared without case. Every
 * binding decides a trusted proxy's protocol with this, so they agree on every request.
 */
export function forwardedHttps(header: string | readonly string[] | undefined | null): boolean {
  if (header == null) return false;
  const h = typeof header === 'string' ? header : header.join(',');
  const i = h.indexOf(',');
  return (i !== -1 ? h.slice(0, i) : h).trim().toLowerCase() === 'https';
}
