/**
 * The documentation's convention for command blocks that talk to the service, which
 * test/app/readme-commands.test.ts runs (so a block added later is covered without a test change):
 *
 * - The fence's info string is `sh service` (GitHub highlights it as `sh`; `service` marks it).
 * - An optional first command `[NAME=value ...] npm start` says how the service is started; the test
 *   starts its in-process service with those variables (also visible to the block's commands).
 * - Every other line that is not a comment is a command (a trailing `\` continues it), run in order
 *   by one bash (`set -euo pipefail`: a failing command fails the test) in the checkout, so
 *   `../shared/images/...` exists and variables carry from one command to the next.
 *   `http://localhost:5000` is replaced by the test service's address, and CLASSIFY_URL points at it.
 * - Comment lines right after a command (no blank line between) are its sample output. The test
 *   compares its shape: every JSON key shown must appear in the real output, every `"code"` and
 *   the first `"label"` must be the same, and a `classify` table's first row must name the same
 *   label. `…` and `...` stand for elided parts. Other comments are prose.
 */
export interface ServiceBlock {
  /** Where it is: file and line of its fence. */
  where: string;
  /** The variables of its `npm start` line (empty: the defaults). */
  startEnv: string;
  commands: { command: string; expected: string }[];
}

const fence = /^```sh service[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
const startLine = /^((?:[A-Z][A-Z0-9_]*=(?:\$\([^)]*\)|\S)+\s+)*)npm start$/;

export function serviceBlocks(file: string, markdown: string): ServiceBlock[] {
  const blocks: ServiceBlock[] = [];
  for (const match of markdown.matchAll(fence)) {
    const line = markdown.slice(0, match.index).split('\n').length;
    const block: ServiceBlock = { where: `${file}:${line}`, startEnv: '', commands: [] };
    let current: { command: string; expected: string } | undefined;
    let continued = false;
    for (const raw of match[1]!.split('\n')) {
      const text = raw.trimEnd();
      if (continued && current) {
        current.command += `\n${text}`;
        continued = text.endsWith('\\');
        continue;
      }
      if (text === '') current = undefined;
      else if (text.startsWith('#')) {
        if (current) current.expected += `${text.replace(/^# ?/, '')}\n`;
      } else if (block.commands.length === 0 && !block.startEnv && startLine.test(text)) {
        block.startEnv = startLine.exec(text)![1]!.trim();
      } else {
        // A second service would start beside the test's (and on the README's port): the block says it once, first.
        if (/\bnpm (start|run)\b/.test(text))
          throw new Error(`${block.where}: only a first line may start the service`);
        current = { command: text, expected: '' };
        block.commands.push(current);
        continued = text.endsWith('\\');
      }
    }
    blocks.push(block);
  }
  return blocks;
}

const keysOf = (text: string): Set<string> => new Set([...text.matchAll(/"([A-Za-z_][\w-]*)":/g)].map((m) => m[1]!));
const valuesOf = (text: string, key: string): string[] =>
  [...text.matchAll(new RegExp(`"${key}":"([^"]*)"`, 'g'))].map((m) => m[1]!);
/** The first row of a `classify` table: `   1  espresso   96.94%`. */
const tableTop1 = (text: string): string | undefined => /^\s*1\s{2,}(\S+)/m.exec(text)?.[1];

/** What differs between a command's sample output and its real output; empty when they agree. */
export function outputMismatches(expected: string, actual: string): string[] {
  const problems: string[] = [];
  if (expected.trim() === '') return problems;
  const actualKeys = keysOf(actual);
  for (const key of keysOf(expected)) if (!actualKeys.has(key)) problems.push(`key "${key}" is missing`);
  for (const code of valuesOf(expected, 'code'))
    if (!valuesOf(actual, 'code').includes(code)) problems.push(`code "${code}" is missing`);
  const label = valuesOf(expected, 'label')[0] ?? tableTop1(expected);
  const actualLabel = valuesOf(actual, 'label')[0] ?? tableTop1(actual);
  if (label !== undefined && label !== actualLabel) problems.push(`top-1 label ${actualLabel} instead of ${label}`);
  return problems;
}
