import type { AgentMode } from '../roster/model.js';

/** One argument of a launch section, resolved by the sh launcher at each start. */
export type SectionArg =
  | { kind: 'literal'; value: string }
  /** The contents of a file, as one argument (multi-line prompts stay out of the line-based spec). */
  | { kind: 'file'; path: string }
  /** The agent's current runtime session id (minted by the launcher for claude). */
  | { kind: 'session' };

/**
 * How the launcher tells whether an agent has a conversation to resume (framework/bin/mosaic-launch):
 * claude: the recorded session id has a transcript; codex: the recorded id has a rollout file;
 * pi: the recorded id has a session file in the agent's own session directory; opencode: an id was recorded.
 */
export type SessionKind = 'claude' | 'codex' | 'pi' | 'opencode' | 'none';

export interface PersonaPlacement {
  args: string[];
  env: Record<string, string>;
}

/** What mosaic knows about launching one built-in runtime: the flags of each feature. */
export interface LaunchProfile {
  session: SessionKind;
  /** Flags and environment of a mode (safe adds nothing). */
  mode(mode: AgentMode, context: { uid: number }): { args: string[]; env: Record<string, string> };
  model(model: string): string[];
  /**
   * The persona channel: what is appended to the runtime's own system prompt (the contract, then the
   * persona; see systemPromptFor in spec.ts). null: the integration places it in the agent's config.
   */
  persona(file: string, text: string): PersonaPlacement | null;
  /** The first prompt on the command line. */
  kickstart(prompt: SectionArg): SectionArg[];
  /** Added on a start that begins a new conversation, and on one that resumes. */
  fresh: SectionArg[];
  resume: SectionArg[];
  /** Added at every start (e.g. pi's per-agent session directory). */
  always?(sessionDir: string): string[];
}

const lit = (...values: string[]): SectionArg[] => values.map((value) => ({ kind: 'literal', value }));
const SESSION: SectionArg = { kind: 'session' };
const none: { args: string[]; env: Record<string, string> } = { args: [], env: {} };

export const LAUNCH_PROFILES: Readonly<Record<string, LaunchProfile>> = {
  claude: {
    session: 'claude',
    // The bypass flag alone shows a confirmation modal whose default answer exits claude; the
    // setting skips it. claude refuses the bypass as root unless it is told it runs in a sandbox.
    mode: (mode, { uid }) =>
      mode === 'yolo'
        ? {
            args: ['--dangerously-skip-permissions', '--settings', JSON.stringify({ skipDangerousModePermissionPrompt: true })],
            env: uid === 0 ? { IS_SANDBOX: '1' } : ({} as Record<string, string>),
          }
        : none,
    model: (model) => ['--model', model],
    persona: (file) => ({ args: ['--append-system-prompt-file', file], env: {} }),
    kickstart: (prompt) => [prompt],
    // A new conversation gets an id minted by the launcher, so a restart can name it.
    fresh: [...lit('--session-id'), SESSION],
    resume: [...lit('--resume'), SESSION],
  },
  codex: {
    session: 'codex',
    mode: (mode) => (mode === 'yolo' ? { args: ['--dangerously-bypass-approvals-and-sandbox'], env: {} } : none),
    model: (model) => ['-m', model],
    // Developer instructions are added to codex's own; -c parses the value as TOML, and a JSON
    // string is a TOML basic string once DEL is escaped too.
    persona: (_file, text) => ({ args: ['-c', `developer_instructions=${JSON.stringify(text).replace(/\x7f/g, '\\u007f')}`], env: {} }),
    kickstart: (prompt) => [prompt],
    fresh: [],
    resume: [...lit('resume'), SESSION],
  },
  pi: {
    session: 'pi',
    mode: () => none, // pi has no permission gates
    model: (model) => ['--model', model],
    persona: (file) => ({ args: ['--append-system-prompt', file], env: {} }),
    kickstart: (prompt) => [prompt],
    fresh: [],
    resume: [...lit('--session'), SESSION],
    always: (sessionDir) => ['--session-dir', sessionDir],
  },
  opencode: {
    session: 'opencode',
    mode: (mode) => (mode === 'yolo' ? { args: [], env: { OPENCODE_PERMISSION: JSON.stringify({ '*': 'allow' }) } } : none),
    model: (model) => ['-m', model],
    persona: () => null, // placed in the agent's opencode.json (instructions)
    kickstart: (prompt) => [...lit('--prompt'), prompt],
    fresh: [],
    resume: [...lit('--session'), SESSION],
  },
};

/** What `--help` shows: each runtime's flags in yolo mode. */
export function yoloExpansion(): string[] {
  return Object.entries(LAUNCH_PROFILES).map(([runtime, profile]) => {
    const asUser = profile.mode('yolo', { uid: 1000 });
    const asRoot = profile.mode('yolo', { uid: 0 });
    const parts = [...asUser.args.map(quoteForHelp), ...Object.entries(asUser.env).map(([k, v]) => `${k}=${quoteForHelp(v)}`)];
    const rootOnly = Object.entries(asRoot.env).filter(([k]) => !(k in asUser.env));
    const root = rootOnly.length > 0 ? ` (as root also ${rootOnly.map(([k, v]) => `${k}=${v}`).join(' ')})` : '';
    return `  ${runtime.padEnd(9)} ${parts.length > 0 ? parts.join(' ') : '(no permission gates: nothing added)'}${root}`;
  });
}

const quoteForHelp = (value: string): string => (/^[A-Za-z0-9_./:=-]+$/.test(value) ? value : `'${value}'`);
