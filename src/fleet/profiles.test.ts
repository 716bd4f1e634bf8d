import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRoster } from '../roster/load.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { packageRoot } from '../system/package.js';
import { chooseModel } from '../launch/model.js';
import { EXAMPLE_PROFILES, PROFILES, profileText } from './profiles.js';

const exampleFile = (name: string): string => path.join(packageRoot(), 'framework', 'fleet', 'examples', `${name}.yaml`);
const options = { env: { HOME: '/home/u' }, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: 'u' };

describe('shipped example rosters and init profiles', () => {
  it.each(EXAMPLE_PROFILES)('examples/%s.yaml loads unchanged, with no warnings and no model warnings', (name) => {
    const file = exampleFile(name);
    const roster = parseRoster(readFileSync(file, 'utf8'), file, options);
    expect(roster.agents.length).toBeGreaterThan(0);
    expect(roster.warnings).toEqual([]);
    expect(roster.agents.map((agent) => chooseModel(agent).warning).filter(Boolean)).toEqual([]);
  });

  it.each(EXAMPLE_PROFILES)('`fleet init --profile %s` prints exactly examples/<name>.yaml (they never drift)', (name) => {
    expect(profileText(name)).toBe(readFileSync(exampleFile(name), 'utf8'));
  });

  it('every profile is valid; usc has no supervisor: line (systemd when its units are enabled)', () => {
    for (const name of PROFILES) expect(() => parseRoster(profileText(name), `<${name}>`, options)).not.toThrow();
    const usc = parseRoster(profileText('usc'), '/r/usc.yaml', options);
    expect(usc.supervisorSource).toBe('default');
    expect(usc.agents.find((a) => a.name === 'mos-claude')).toMatchObject({
      runtime: 'claude',
      class: 'orchestrator',
      persistentPersona: true,
    });
    expect(
      usc.agents
        .filter((a) => a.resetBetweenTasks)
        .map((a) => a.runtime)
        .sort(),
    ).toEqual(expect.arrayContaining(['claude', 'pi']));
    expect(usc.agents.map((a) => chooseModel(a).model)).toContain('openai-codex/gpt-5.5');
  });
});
