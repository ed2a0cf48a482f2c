import { createHash, timingSafeEqual } from 'node:crypto';

/** What an operator endpoint accepts. Both may be set (either one lets a request in); neither: nobody is checked. */
export interface Credentials {
  /** HTTP Basic (RFC 7617): what a browser prompts for. */
  readonly basic?: { readonly user: string; readonly password: string } | undefined;
  /** `Authorization: Bearer <token>` (RFC 6750): for scripts, Prometheus and proxies. */
  readonly bearer?: string | undefined;
}

export function hasCredentials(accepted: Credentials): boolean {
  return accepted.basic !== undefined || accepted.bearer !== undefined;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Compares digests, not the strings: timingSafeEqual needs equal lengths, and comparing the
 * raw values would leak the secret's length (and its prefix, with ===) through response times.
 */
function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/**
 * Whether an Authorization header carries one of the accepted credentials. Every configured
 * scheme is compared, so which one matched does not show in the timing either.
 */
export function isAuthorized(header: string | undefined, accepted: Credentials): boolean {
  const match = /^(\S+)\s+(\S+)\s*$/.exec(header ?? '');
  const scheme = match?.[1]!.toLowerCase();
  const value = match?.[2] ?? '';
  let ok = false;
  if (accepted.basic) {
    // user:password joined the way the client sends it; the user has no colon (config enforces it).
    const presented = scheme === 'basic' ? Buffer.from(value, 'base64').toString('utf8') : '';
    ok = sameSecret(presented, `${accepted.basic.user}:${accepted.basic.password}`) && scheme === 'basic';
  }
  if (accepted.bearer !== undefined) {
    ok = (sameSecret(scheme === 'bearer' ? value : '', accepted.bearer) && scheme === 'bearer') || ok;
  }
  return ok;
}

/** The WWW-Authenticate value of a 401: one challenge per accepted scheme (RFC 9110 §11.6.1). */
export function challenges(accepted: Credentials, realm: string): string {
  const list: string[] = [];
  if (accepted.basic) list.push(`Basic realm="${realm}", charset="UTF-8"`);
  if (accepted.bearer !== undefined) list.push(`Bearer realm="${realm}"`);
  return list.join(', ');
}
