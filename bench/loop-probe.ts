/**
 * Preloaded into the API process by the bench (node --import): samples event-loop delay with
 * perf_hooks.monitorEventLoopDelay and answers {p50, p99, max} in ms over IPC, then resets,
 * so the bench can read the delay of one phase. Not part of the service.
 * Each sample is the whole tick interval (resolution + delay): an idle loop reads ~1.1 ms at a
 * 1 ms resolution (10.2 ms at 10 ms), so these numbers overstate the delay by about 1 ms.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();
// The channel must not keep the API alive on its own.
process.channel?.unref();
process.on('message', (message) => {
  if (message !== 'loop-delay') return;
  const ms = (ns: number) => ns / 1e6;
  process.send?.({ p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) });
  histogram.reset();
});
