import type Router from '@koa/router';
import type { ApiState } from '../api-state.js';
import type { ApiDeps } from '../deps.js';

export function openInferenceRoutes(_router: Router<ApiState>, _deps: ApiDeps): void {}
