import { UsageError } from '../core/errors.js';

export const PROFILES = ['minimal', 'local-canary', 'usc', 'stub'] as const;
/** Profiles shipped as framework/fleet/examples/<name>.yaml (byte-identical; a test keeps them so). */
export const EXAMPLE_PROFILES = ['minimal', 'local-canary', 'usc'] as const;
export type ProfileName = (typeof PROFILES)[number];

const HEADER = `# Mosaic Fleet roster. Schema: framework/fleet/roster.schema.json in the mosaic-fleet package.
# Every field also accepts camelCase. Relative directories are relative to this file.
version: 1
transport: tmux
supervisor: builtin # builtin (no systemd needed) or systemd
tmux:
  socket_name: mosaic-factory
  holder_session: _holder
heartbeat:
  interval_seconds: 15
`;

const TEXT: Record<ProfileName, string> = {
  minimal: `${HEADER}defaults:
  working_directory: ~/src
runtimes:
  pi:
    reset_command: /new
agents:
  - name: canary-pi
    runtime: pi
    class: canary
    reset_between_tasks: true
`,
  'local-canary': `${HEADER}defaults:
  working_directory: ~/src
  # yolo: the agents run unattended, as the upstream fleet runs them (\`mosaic yolo <runtime>\`):
  # claude skips its permission prompts, codex bypasses approvals and its sandbox, opencode allows
  # every tool. They act without asking: give them work trees you can afford to lose. safe: they ask.
  mode: yolo
runtimes:
  claude:
    reset_command: /clear
  codex:
    reset_command: /clear
  pi:
    reset_command: /new
agents:
  - name: lead
    runtime: claude
    class: orchestrator
    persistent_persona: true
  - name: coder0
    runtime: codex
    class: implementer
    reset_between_tasks: true
  - name: reviewer0
    runtime: pi
    class: reviewer
    reset_between_tasks: true
`,
  usc: `# Mosaic Fleet roster shaped like upstream's USC fleet: an orchestrator that keeps its one
# conversation, coders on claude and pi, and reviewers that all begin every task in a new one.
# Schema: framework/fleet/roster.schema.json in the mosaic-fleet package.
# There is no "supervisor:" line on purpose: once \`mosaic fleet install-systemd --enable\` has
# installed and enabled this roster's units, fleet start uses systemd; until then, the built-in one.
version: 1
transport: tmux
tmux:
  socket_name: mosaic-factory
  holder_session: _holder
heartbeat:
  interval_seconds: 15
defaults:
  working_directory: ~/src
  # yolo: unattended, with each runtime's permission checks switched off. Point the agents at
  # work trees you can afford to lose, or use safe (they ask before acting).
  mode: yolo
runtimes:
  claude:
    reset_command: /clear
  pi:
    reset_command: /new
agents:
  - name: mos-claude
    runtime: claude
    class: orchestrator
    model_hint: Claude Opus
    persistent_persona: true
  - name: coder0
    runtime: claude
    class: implementer
    model_hint: Claude Opus
    reset_between_tasks: true
  - name: coder1
    runtime: claude
    class: implementer
    model_hint: Claude Opus
    reset_between_tasks: true
  - name: coder2
    runtime: pi
    class: implementer
    model_hint: Pi GPT-5.5
    reset_between_tasks: true
  - name: coder3
    runtime: pi
    class: implementer
    model_hint: Pi GPT-5.5
    reset_between_tasks: true
  - name: rev0
    runtime: pi
    class: reviewer
    model_hint: Pi GPT-5.5
    reset_between_tasks: true
  - name: secrev0
    runtime: pi
    class: security_reviewer
    model_hint: Pi GPT-5.5
    reset_between_tasks: true
`,
  stub: `${HEADER.replace('mosaic-factory', 'mosaic-stub')}defaults:
  working_directory: work
agents:
  - name: alpha
    runtime: stub
    class: demo
  - name: beta
    runtime: stub
    class: demo
  - name: gamma
    runtime: stub
    class: demo
`,
};

export function profileText(name: string): string {
  if (!(PROFILES as readonly string[]).includes(name)) {
    throw new UsageError(`unknown profile "${name}" (choose one of: ${PROFILES.join(', ')})`);
  }
  return TEXT[name as ProfileName];
}
