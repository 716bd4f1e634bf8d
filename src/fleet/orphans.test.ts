import { describe, expect, it } from 'vitest';
import { judgeSessions, type SessionMarks } from './orphans.js';

const s = (session: string, agent = '', holder = ''): SessionMarks => ({ session, agent, holder });

describe('which sessions fleet stop --orphans may stop', () => {
  const sessions = [
    s('a', 'a'),
    s('old', 'old'),
    s('old', 'old'),
    s('mine', ''),
    s('_holder', '_holder'),
    s('keep', 'keep', '1'),
    s('hold2', 'hold2'),
  ];

  it('with a roster: marked sessions it does not name; never unmarked ones, never a holder', () => {
    const { orphans, leftAlone } = judgeSessions(sessions, { known: new Set(['a']), holderSession: 'hold2' });
    expect(orphans.map((o) => o.session)).toEqual(['old']);
    expect(leftAlone.map((l) => l.session.session).sort()).toEqual(['_holder', 'hold2', 'keep', 'mine']);
    expect(leftAlone.find((l) => l.session.session === 'mine')!.reason).toMatch(/no @mosaic_agent mark/);
  });

  it('without a roster: every marked session except holders', () => {
    const { orphans } = judgeSessions(sessions, {});
    expect(orphans.map((o) => o.session)).toEqual(['a', 'old', 'hold2']);
  });

  it('a roster agent whose session is marked for someone else is not an orphan (fleet verify reports it)', () => {
    expect(judgeSessions([s('a', 'other')], { known: new Set(['a']) }).orphans).toEqual([]);
  });
});
