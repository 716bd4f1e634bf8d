import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRoster } from '../roster/load.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import {
  composeSystemPrompt,
  contractBudgetProblems,
  contractParts,
  countLines,
  deployedContractDir,
  shippedContractDir,
  type PromptPart,
} from './contract.js';
import { buildLaunchSpec, systemPromptFile, systemPromptFor } from './spec.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const tempDir = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-contract-'));
  dirs.push(dir);
  return dir;
};
const lines = (n: number): string => 'x\n'.repeat(n);

/** A fake package's framework/contract/ and an empty config root. */
function world(
  shipped: Partial<Record<'AGENTS.md' | 'CONSTITUTION.md', string>> = {
    'AGENTS.md': 'SHIPPED-AGENTS\n',
    'CONSTITUTION.md': 'SHIPPED-CONST\n',
  },
) {
  const dir = tempDir();
  const shippedDir = path.join(dir, 'pkg', 'framework', 'contract');
  const root = path.join(dir, 'root');
  mkdirSync(shippedDir, { recursive: true });
  mkdirSync(deployedContractDir(root), { recursive: true });
  for (const [name, text] of Object.entries(shipped)) writeFileSync(path.join(shippedDir, name), text);
  const deploy = (name: string, text: string): void => writeFileSync(path.join(deployedContractDir(root), name), text);
  return { dir, shippedDir, root, deploy };
}

const sources = (parts: PromptPart[]): string[] => parts.map((p) => `${p.source}:${p.text.trim()}`);

describe('the line budget of the contract', () => {
  it('counts lines as wc -l does, plus a last line without its newline', () => {
    expect(countLines('')).toBe(0);
    expect(countLines('a\n')).toBe(1);
    expect(countLines('a\nb')).toBe(2);
    expect(countLines(lines(120))).toBe(120);
  });

  it('passes 120 lines, fails 121, fails a missing file and names it', async () => {
    const ok = world({ 'AGENTS.md': lines(120), 'CONSTITUTION.md': lines(1) });
    expect(await contractBudgetProblems(ok.shippedDir)).toEqual([]);
    const over = world({ 'AGENTS.md': lines(1), 'CONSTITUTION.md': `${lines(120)}no newline` });
    expect(await contractBudgetProblems(over.shippedDir)).toEqual([
      `${path.join(over.shippedDir, 'CONSTITUTION.md')} is 121 lines (max 120)`,
    ]);
    const missing = world({ 'CONSTITUTION.md': lines(3) });
    expect(await contractBudgetProblems(missing.shippedDir)).toEqual([`${path.join(missing.shippedDir, 'AGENTS.md')} is missing`]);
  });
});

describe('the contract in the system prompt', () => {
  it('AGENTS, then CONSTITUTION, from the shipped copies when nothing is deployed', async () => {
    const w = world();
    expect(sources(await contractParts(w.root, w.shippedDir))).toEqual(['AGENTS.md:SHIPPED-AGENTS', 'CONSTITUTION.md:SHIPPED-CONST']);
  });

  it("the operator's deployed copies win; an empty or missing deployed AGENTS falls back to the shipped one", async () => {
    const w = world();
    w.deploy('AGENTS.md', 'MINE-AGENTS\n');
    w.deploy('CONSTITUTION.md', 'MINE-CONST\n');
    const parts = await contractParts(w.root, w.shippedDir);
    expect(sources(parts)).toEqual(['AGENTS.md:MINE-AGENTS', 'CONSTITUTION.md:MINE-CONST']);
    expect(parts[0]!.file).toBe(path.join(w.root, 'contract', 'AGENTS.md'));
    w.deploy('AGENTS.md', '  \n');
    expect(sources(await contractParts(w.root, w.shippedDir))[0]).toBe('AGENTS.md:SHIPPED-AGENTS');
  });

  it('CONSTITUTION is optional: an emptied deployed copy switches it off, a package without one is fine', async () => {
    const w = world();
    w.deploy('CONSTITUTION.md', '');
    expect(sources(await contractParts(w.root, w.shippedDir))).toEqual(['AGENTS.md:SHIPPED-AGENTS']);
    const bare = world({ 'AGENTS.md': 'ONLY-AGENTS\n' });
    expect(sources(await contractParts(bare.root, bare.shippedDir))).toEqual(['AGENTS.md:ONLY-AGENTS']);
  });

  it('AGENTS is required: none deployed and none shipped is an error naming both paths', async () => {
    const w = world({ 'CONSTITUTION.md': 'C\n' });
    await expect(contractParts(w.root, w.shippedDir)).rejects.toThrow(
      /AGENTS\.md is missing: neither .*root\/contract\/AGENTS\.md nor .*pkg\/framework\/contract\/AGENTS\.md/,
    );
  });

  it('composes the parts in order, trimmed, a blank line between them', () => {
    const part = (source: PromptPart['source'], text: string): PromptPart => ({ source, file: `/${source}`, text });
    expect(composeSystemPrompt([part('AGENTS.md', '# A\n\n'), part('CONSTITUTION.md', '\n# C\n'), part('persona', '# P')])).toBe(
      '# A\n\n# C\n\n# P\n',
    );
  });
});

describe('the system prompt of a launch (the persona channel)', () => {
  const rosterOf = (dir: string, agentYaml: string) =>
    parseRoster(`version: 1\ntransport: tmux\ntenant_id: acme\nagents:\n${agentYaml}`, path.join(dir, 'roster.yaml'), {
      env: { HOME: dir },
      knownRuntimes: BUILTIN_RUNTIMES,
      defaultTenant: 'u',
    });

  it('built-in runtimes: contract then persona, in one run file that claude and pi append and codex inlines', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'root');
    const runDir = path.join(root, 'run');
    mkdirSync(deployedContractDir(root), { recursive: true });
    writeFileSync(path.join(deployedContractDir(root), 'AGENTS.md'), '# Deployed dispatcher\nDEPLOYED-AGENTS-MARKER\n');
    const persona = path.join(dir, 'persona.md');
    writeFileSync(persona, '# Persona\nPERSONA-MARKER\n');
    for (const runtime of ['claude', 'codex', 'pi', 'opencode']) {
      const roster = rosterOf(dir, `  - {name: a-${runtime}, runtime: ${runtime}, persona_file: ${JSON.stringify(persona)}}\n`);
      const agent = roster.agents[0]!;
      const placed = await systemPromptFor(roster, agent, { env: { MOSAIC_FLEET_HOME: root }, runDir });
      expect(placed!.file).toBe(systemPromptFile(runDir, agent.name));
      expect(readFileSync(placed!.file, 'utf8')).toBe(placed!.text);
      const text = placed!.text;
      // The deployed AGENTS.md, then the shipped CONSTITUTION.md (none deployed), then the persona.
      const order = ['DEPLOYED-AGENTS-MARKER', '# Mosaic fleet constitution', 'PERSONA-MARKER'].map((marker) => text.indexOf(marker));
      expect(order.every((at) => at >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      const spec = buildLaunchSpec(roster, agent, { env: {}, runDir, runtimeBinDirs: [], persona: placed! });
      if (runtime === 'claude') expect(spec.argv).toEqual(expect.arrayContaining(['--append-system-prompt-file', placed!.file]));
      if (runtime === 'pi') expect(spec.argv).toEqual(expect.arrayContaining(['--append-system-prompt', placed!.file]));
      if (runtime === 'codex') expect(spec.argv).toContain(`developer_instructions=${JSON.stringify(text)}`);
    }
  });

  it('without a persona the contract alone goes in; the configured root wins over the environment', async () => {
    const dir = tempDir();
    const runDir = path.join(dir, 'run');
    const roster = rosterOf(dir, '  - {name: bare, runtime: claude}\n');
    const placed = await systemPromptFor(roster, roster.agents[0]!, { env: {}, runDir, configRoot: path.join(dir, 'nowhere') });
    const shipped = readFileSync(path.join(shippedContractDir(), 'AGENTS.md'), 'utf8').trim();
    expect(placed!.text.startsWith(shipped)).toBe(true);
    expect(placed!.text).toContain('# Mosaic fleet constitution');
  });

  it('the stub and custom runtimes take no system prompt: their plain persona, and no file is written', async () => {
    const dir = tempDir();
    const runDir = path.join(dir, 'run');
    const persona = path.join(dir, 'persona.md');
    writeFileSync(persona, 'STUB-PERSONA\n');
    const roster = rosterOf(dir, `  - {name: s1, runtime: stub, persona_file: ${JSON.stringify(persona)}}\n`);
    expect(await systemPromptFor(roster, roster.agents[0]!, { env: { MOSAIC_FLEET_HOME: dir }, runDir })).toEqual({
      file: persona,
      text: 'STUB-PERSONA\n',
    });
    expect(() => readFileSync(systemPromptFile(runDir, 's1'))).toThrow(/ENOENT/);
  });
});
