import { execFileSync } from 'node:child_process';

/**
 * Debian's Python, whose packages python3-requests, python3-httpx and python3-aiohttp are the
 * real clients under test: not a `python3` earlier on the PATH (pyenv…) without them.
 */
export const debianPython = '/usr/bin/python3';
const packages = ['python3-requests', 'python3-httpx', 'python3-aiohttp'];

function importsClients(): boolean {
  try {
    execFileSync(debianPython, ['-c', 'import requests, httpx, aiohttp'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs the Python clients from Debian when they are missing, as CI does (.ci/run); throws saying
 * how if it cannot.
 */
export function ensurePythonClients(): void {
  if (importsClients()) return;
  const asRoot = (args: string[]) =>
    process.getuid?.() === 0
      ? execFileSync(args[0]!, args.slice(1), { stdio: 'ignore' })
      : execFileSync('sudo', ['-n', ...args], { stdio: 'ignore' });
  try {
    asRoot(['apt-get', 'install', '-y', '-qq', ...packages]);
  } catch {
    try {
      asRoot(['apt-get', 'update', '-qq']);
      asRoot(['apt-get', 'install', '-y', '-qq', ...packages]);
    } catch {
      // Reported below, with the command to run.
    }
  }
  if (!importsClients())
    throw new Error(
      `the conformance suite needs ${packages.join(' ')} for ${debianPython}: apt-get install -y ${packages.join(' ')}`,
    );
}
