import type { Context, Next } from 'koa';
import { challenges, hasCredentials, isAuthorized, type Credentials } from '../../credentials.js';
import { AppError } from '../../errors.js';
import type { AuthFailures } from './auth-failures.js';

/**
 * Guards an operator endpoint. With no credentials configured it lets everyone through: callers
 * decide whether that is acceptable (/metrics) or whether to not mount the endpoint at all (the
 * dashboard). A refusal is an `unauthorized` AppError carrying the challenge, rendered as usual,
 * and counts as a failed attempt of the client's address (`AuthFailures`). Valid credentials are
 * compared first and never refused for that address's failures: someone else's wrong guesses
 * (behind the same proxy, say) cannot lock the operator out.
 */
export function requireCredentials(accepted: Credentials, realm: string, failures: AuthFailures) {
  const challenge = challenges(accepted, realm);
  const open = !hasCredentials(accepted);
  return async (ctx: Context, next: Next): Promise<void> => {
    if (!open && !isAuthorized(ctx.get('authorization'), accepted)) {
      await failures.assertAllowed(ctx.ip);
      await failures.record(ctx.ip);
      throw new AppError('unauthorized', `${realm} needs credentials (see WWW-Authenticate)`, {
        'WWW-Authenticate': challenge,
      });
    }
    await next();
  };
}
