import type { ServedModel } from '../jobs/index.js';
import type { ModelReadiness } from './wire.js';

/**
 * Each served model's readiness: a live worker has it loaded and its queue is not paused (a queue
 * paused from Bull Board keeps accepting jobs that no worker takes). Two cheap reads per model (a
 * ZCOUNT and the queue's meta), so probes stay fast.
 */
export function modelReadiness(models: readonly ServedModel[]): Promise<ModelReadiness[]> {
  return Promise.all(
    models.map(async (model): Promise<ModelReadiness> => {
      const [workers, paused] = await Promise.all([model.signals.workers(), model.signals.paused()]);
      return { name: model.name, state: paused ? 'paused' : workers > 0 ? 'ready' : 'no_worker', workers };
    }),
  );
}

/** One sentence naming every model that is not ready, and why. */
export function notReadySentence(states: readonly ModelReadiness[]): string {
  return states
    .filter((s) => s.state !== 'ready')
    .map((s) =>
      s.state === 'paused'
        ? `model ${s.name}: its queue is paused (resume it from the dashboard)`
        : `model ${s.name}: no worker with it loaded is running`,
    )
    .join('; ');
}
