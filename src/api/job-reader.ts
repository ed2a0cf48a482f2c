import type { JobView } from './wire.js';
import type { ApiDeps } from './deps.js';
import type { ReadView } from '../jobs/index.js';

/**
 * How a waiter reads the caller's job: after its completed event, from the event's result and one
 * small read (ModelCatalog.completedJob); otherwise, or if that finds the job gone, a whole read.
 */
export function jobReader(deps: Pick<ApiDeps, 'models'>, id: string, owner: string | undefined): ReadView<JobView> {
  return async (completion) =>
    (completion && (await deps.models.completedJob(completion.previous, completion.returnvalue))) ??
    deps.models.getJob(id, owner);
}
