import path from 'node:path';
import { UserError } from '../core/errors.js';
import { readFileOrUndefined } from '../system/fs.js';
import { packageRoot } from '../system/package.js';

/**
 * The agent contract: the dispatcher (AGENTS.md, required) and the constitution (CONSTITUTION.md,
 * optional), in the order they go into every agent's system prompt, ahead of its persona.
 */
export const CONTRACT_FILES = ['AGENTS.md', 'CONSTITUTION.md'] as const;
export type ContractFile = (typeof CONTRACT_FILES)[number];
/** Each contract file is resident in every session: it stays at most this many lines. */
export const CONTRACT_MAX_LINES = 120;

/** The package's own copies: framework/contract/. */
export const shippedContractDir = (): string => path.join(packageRoot(), 'framework', 'contract');
/** The operator's copies, which `mosaic init` deploys and `mosaic update` refreshes: <config root>/contract/. */
export const deployedContractDir = (configRoot: string): string => path.join(configRoot, 'contract');

/** One piece of a composed system prompt and the file it came from. */
export interface PromptPart {
  source: ContractFile | 'persona';
  file: string;
  text: string;
}

const blank = (text: string): boolean => text.trim() === '';

/**
 * The contract parts of a system prompt, from the deployed copy when there is one, else the shipped one:
 * - AGENTS.md is required: a missing or empty deployed copy falls back to the shipped one, and a
 *   package without it is an error;
 * - CONSTITUTION.md is optional: a deployed copy that is empty leaves it out (the operator's way to
 *   switch it off), a missing one falls back to the shipped one, and none at all is fine.
 */
export async function contractParts(configRoot: string, shippedDir: string = shippedContractDir()): Promise<PromptPart[]> {
  const deployedDir = deployedContractDir(configRoot);
  const parts: PromptPart[] = [];
  for (const name of CONTRACT_FILES) {
    const deployed = path.join(deployedDir, name);
    const shipped = path.join(shippedDir, name);
    const own = await readFileOrUndefined(deployed);
    if (own !== undefined && !blank(own)) {
      parts.push({ source: name, file: deployed, text: own });
      continue;
    }
    if (own !== undefined && name === 'CONSTITUTION.md') continue; // emptied by the operator: switched off
    const text = await readFileOrUndefined(shipped);
    if (text !== undefined && !blank(text)) parts.push({ source: name, file: shipped, text });
    else if (name === 'AGENTS.md') {
      throw new UserError(`the agent contract ${name} is missing: neither ${deployed} nor ${shipped} has it`, {
        hint: 'run `mosaic init` to deploy it, or reinstall mosaic-fleet',
      });
    }
  }
  return parts;
}

/** The parts, in order, as one system prompt: each part's text, trimmed, a blank line between them. */
export function composeSystemPrompt(parts: readonly PromptPart[]): string {
  return `${parts
    .map((part) => part.text.trim())
    .filter((text) => text !== '')
    .join('\n\n')}\n`;
}

/** Lines as `wc -l` counts them, plus a last line without its newline. */
export function countLines(text: string): number {
  if (text === '') return 0;
  const newlines = text.split('\n').length - 1;
  return text.endsWith('\n') ? newlines : newlines + 1;
}

/** What breaks the contract's line budget in `dir`: a missing file, or one over `maxLines`. */
export async function contractBudgetProblems(dir: string = shippedContractDir(), maxLines: number = CONTRACT_MAX_LINES): Promise<string[]> {
  const problems: string[] = [];
  for (const name of CONTRACT_FILES) {
    const file = path.join(dir, name);
    const text = await readFileOrUndefined(file);
    if (text === undefined) problems.push(`${file} is missing`);
    else if (countLines(text) > maxLines) problems.push(`${file} is ${countLines(text)} lines (max ${maxLines})`);
  }
  return problems;
}
