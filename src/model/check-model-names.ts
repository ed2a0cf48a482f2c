import { StartupError } from '../startup-error.js';

/**
 * Stops start-up, naming the problem, unless the served models' names (their manifests') are
 * distinct and DEFAULT_MODEL, when given, is one of them: the API checks both before it connects,
 * a worker the names as it loads each model.
 */
export function checkModelNames(names: readonly string[], defaultName?: string): void {
  if (names.length === 0) throw new StartupError('no model to serve');
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined)
    throw new StartupError(
      `two model directories are both named "${duplicate}": give one a different "name" in its manifest.json`,
    );
  if (defaultName !== undefined && !names.includes(defaultName))
    throw new StartupError(`DEFAULT_MODEL "${defaultName}" is none of the served models (${names.join(', ')})`);
}
