import { UserError } from '../core/errors.js';
import { beatWriterAlive, readHeartbeat, type Heartbeat } from '../heartbeat/heartbeat.js';
import { pressEnter, typeIntoPane } from '../messaging/paste.js';
import { captureMany } from '../messaging/screen.js';
import { acquireAgentLock } from '../system/lock.js';
import { DEFAULT_LOCK_TIMEOUT_MS, type SendResult } from '../messaging/send.js';
import type { AgentSpec } from '../roster/model.js';
import { detectorFor } from '../runtimes/detectors/index.js';
import { CLAUDE, CODEX, OPENCODE, PI } from '../runtimes/detectors/runtimes.js';
import type { Readiness, Screen } from '../runtimes/detectors/types.js';
import { resolveRuntime } from '../runtimes/registry.js';
import { listPanes, notOurs } from '../supervisor/panes.js';
import { rm } from 'node:fs/promises';
import { sessionIdFile } from '../launch/session.js';
import { clearTaskMarker } from '../messaging/tasks.js';
import { ProcessTable } from '../system/proc.js';
import { waitFor } from '../system/wait.js';
import { sendKickstart, takesKickstartOnCommandLine } from './kickstart.js';
import { combineActivity, reportedActivity, type Activity } from '../attention/activity.js';
import type { SupervisedFleet } from './open.js';

export interface ResetResult {
  tenant_id: string;
  host: string;
  agent: string;
  mode: 'clear' | 'new';
  command: string;
  verified: boolean;
  evidence: string;
  /** clear: the runtime's own command did it; restart: mosaic restarted the agent with a new session. */
  how: 'clear' | 'restart';
  kickstart: SendResult | null;
  /** How the kickstart reached the agent: its command line at the restart, a verified send, or not at all. */
  kickstart_via: 'argv' | 'send' | null;
}

export interface ResetOptions {
  /** Reset an agent whose roster says persistent_persona: true. */
  force?: boolean;
  /** Skip the clear command and restart the agent with a new session at once. */
  restart?: boolean;
}

/** How long a reset gets to show a fresh conversation. */
export const RESET_VERIFY_TIMEOUT_MS = 10_000;

const ANSWER_LINES: Record<string, readonly RegExp[]> = {
  claude: CLAUDE.responses,
  codex: CODEX.responses,
  pi: PI.responses,
  opencode: OPENCODE.responses,
};

const answersOnScreen = (runtime: string, screen: Screen): number =>
  screen.lines.filter((line) => (ANSWER_LINES[runtime] ?? []).some((pattern) => pattern.test(line))).length;

/**
 * Type the runtime's reset command (slash commands must be typed, not pasted), submit it, and
 * wait for proof of a fresh conversation: the runtime's own report of a new session
 * (`session_ts` from its hook), the stub's acknowledgement, or a screen whose earlier answers
 * are gone. Then send the kickstart template, verified like any message.
 */
export async function resetAgent(
  ctx: SupervisedFleet,
  agent: AgentSpec,
  mode: 'clear' | 'new',
  options: ResetOptions = {},
): Promise<ResetResult> {
  if (agent.persistentPersona === true && !options.force) {
    throw new UserError(`agent "${agent.name}" has persistent_persona: true: mosaic does not reset its conversation`, {
      hint: `reset it anyway with \`mosaic agent reset ${agent.name} --${mode} --force\`, or set persistent_persona: semi in the roster`,
    });
  }
  const pane = (await listPanes(ctx)).find((p) => p.session === agent.session);
  if (!pane || pane.dead) {
    throw new UserError(`agent "${agent.name}" is not running`, { hint: `start it with \`mosaic fleet start ${agent.name}\`` });
  }
  // A session that only has the agent's name is someone else's: nothing is typed into it.
  if (pane.agent !== agent.name) throw new UserError(notOurs(agent, ctx.tmux.socket));
  const { screen: before, beat: beforeBeat, activity } = await readyOrWaiting(ctx, agent, pane.panePid, !options.restart);
  if (activity === 'waiting') {
    throw new UserError(
      `agent "${agent.name}" is waiting for an answer (a permission prompt or a question); a reset typed now would answer it`,
      {
        hint: `answer it first: \`mosaic agent attach ${agent.name}\``,
      },
    );
  }
  const command = resolveRuntime(ctx.roster, agent.runtime).reset[mode];
  if (options.restart) return restartWithNewSession(ctx, agent, mode, command, 'asked for (--restart)');
  // The old conversation is no longer the one to resume: until the runtime reports its new
  // session, a restart starts a new one (with the kickstart).
  await forgetSession(ctx, agent);
  const since = Date.now();
  const previousSession = beforeBeat?.fields.session_ts;
  // Hold the agent's send lock while typing and verifying, so no message interleaves with the reset.
  const lock = await acquireAgentLock(ctx.paths.runDir, agent.name, { timeoutMs: DEFAULT_LOCK_TIMEOUT_MS });
  const answersBefore = answersOnScreen(agent.runtime, before);
  let evidence: string | undefined;
  try {
    await submitCommand(ctx, agent, command);
    evidence = await waitFor(
      async () => {
        const beat = await readHeartbeat(ctx.paths.runDir, agent.name);
        const session = beat?.fields.session_ts;
        if (session && session !== previousSession && new Date(session).getTime() >= since - 1000) {
          return `the runtime reported a new session (${beat?.fields.event ?? 'session start'})`;
        }
        const [screen] = await captureMany(ctx.tmux, [agent.session]);
        if (!screen || screen instanceof Error) return undefined;
        if (agent.runtime === 'stub') {
          return screen.lines.some((line) => line.includes(`bytes=${Buffer.byteLength(command)}`) && line.includes('[stub] ack'))
            ? `the stub acknowledged ${command}`
            : undefined;
        }
        if (answersBefore > 0 && answersOnScreen(agent.runtime, screen) === 0) return 'the earlier answers are gone from the screen';
        return undefined;
      },
      { timeoutMs: RESET_VERIFY_TIMEOUT_MS, intervalMs: 100 },
    );
  } finally {
    await lock.release();
  }

  if (evidence === undefined) {
    // The clear command could not be proven: a restart with a new session is certain.
    return restartWithNewSession(
      ctx,
      agent,
      mode,
      command,
      `${command} showed no fresh conversation within ${RESET_VERIFY_TIMEOUT_MS / 1000}s`,
    );
  }
  const kickstart = await sendKickstart(ctx, agent, 'reset');
  return {
    tenant_id: ctx.roster.tenantId,
    host: ctx.host.identity.host,
    agent: agent.name,
    mode,
    command,
    verified: true,
    evidence,
    how: 'clear',
    kickstart,
    kickstart_via: kickstart ? 'send' : null,
  };
}

/** How long a reset waits for the runtime's input to be there before it gives up, typing nothing. */
export const RESET_READY_TIMEOUT_MS = 10_000;

/**
 * The agent's screen once its input is there and free (as a send waits for it), or once it waits for
 * an answer: keys typed while the launcher sleeps a restart backoff, or into a half-drawn TUI, would
 * reach the runtime later or be lost.
 */
async function readyOrWaiting(
  ctx: SupervisedFleet,
  agent: AgentSpec,
  panePid: number | null,
  /** false: nothing will be typed (--restart), so any screen will do. */
  needsInput: boolean,
): Promise<{ screen: Screen; beat: Heartbeat | undefined; activity: Activity }> {
  const detector = detectorFor(agent.runtime);
  let why = 'no screen yet';
  const found = await waitFor(
    async () => {
      const [screen] = await captureMany(ctx.tmux, [agent.session]);
      if (!screen || screen instanceof Error) {
        why = `cannot read its screen: ${String(screen)}`;
        return undefined;
      }
      const beat = await readHeartbeat(ctx.paths.runDir, agent.name);
      // A report counts only while its writer lives under the pane: a killed runtime's last "waiting" is no prompt.
      const writerAlive = beatWriterAlive(beat, panePid, new ProcessTable());
      const { activity } = combineActivity(agent.runtime, reportedActivity(beat, agent.runtime, writerAlive), screen, new Date());
      const readiness: Readiness = screen.inMode
        ? { ready: false, detail: 'the pane is in copy mode (someone is scrolling it)' }
        : detector.ready(screen);
      if (readiness.ready || activity === 'waiting' || !needsInput) return { screen, beat, activity };
      why = readiness.detail;
      return undefined;
    },
    { timeoutMs: RESET_READY_TIMEOUT_MS, intervalMs: 100 },
  );
  if (found) return found;
  throw new UserError(`agent "${agent.name}" is not ready for input (${why}): nothing was typed`, {
    hint: `try again once \`mosaic agent status ${agent.name}\` says idle, or reset it with --restart`,
  });
}

/** Drop the recorded session id (and pi's pointer to it): the next start of the agent is a new conversation. */
async function forgetSession(ctx: SupervisedFleet, agent: AgentSpec): Promise<void> {
  await Promise.all([rm(sessionIdFile(ctx.paths.runDir, agent.name), { force: true }), clearTaskMarker(ctx.paths.runDir, agent.name)]);
}

/**
 * The fallback when the runtime's clear command cannot be verified: restart the agent with no
 * session to resume, so the launcher starts a new conversation (with the kickstart on the command
 * line for runtimes that take one; others get it sent once the agent is up).
 */
async function restartWithNewSession(
  ctx: SupervisedFleet,
  agent: AgentSpec,
  mode: 'clear' | 'new',
  command: string,
  why: string,
): Promise<ResetResult> {
  await forgetSession(ctx, agent);
  const [outcome] = await ctx.supervisor.restart([agent]);
  const base = { tenant_id: ctx.roster.tenantId, host: ctx.host.identity.host, agent: agent.name, mode, command, how: 'restart' as const };
  if (!outcome || outcome.result === 'error') {
    return {
      ...base,
      verified: false,
      evidence: `${why}; restarting with a new session failed: ${outcome?.result === 'error' ? outcome.error : 'no outcome'}`,
      kickstart: null,
      kickstart_via: null,
    };
  }
  const viaArgv = takesKickstartOnCommandLine(ctx.roster, agent);
  const kickstart = viaArgv ? null : await sendKickstart(ctx, agent, 'reset');
  return {
    ...base,
    verified: true,
    evidence: `${why}: restarted the agent with a new session`,
    kickstart,
    kickstart_via: viaArgv && agent.kickstartTemplate ? 'argv' : kickstart ? 'send' : null,
  };
}

/** Is the typed command still sitting in the input (a line that is the command and nothing else)? */
const commandInInput = (screen: Screen, command: string): boolean =>
  screen.lines.some((line) => line.replace(/[❯›>┃│]/gu, ' ').trim() === command);

/**
 * Type the command, let the runtime settle (codex takes an Enter right after typed text as a
 * newline), press Enter, and press it again (never retype) while the command stays in the input.
 */
async function submitCommand(ctx: SupervisedFleet, agent: AgentSpec, command: string): Promise<void> {
  const timing = detectorFor(agent.runtime).timing;
  const screenNow = async (): Promise<Screen | undefined> => {
    const [screen] = await captureMany(ctx.tmux, [agent.session]);
    return screen instanceof Error ? undefined : screen;
  };
  await typeIntoPane(ctx.tmux, agent.session, command);
  await waitFor(
    async () => {
      const screen = await screenNow();
      return screen && commandInInput(screen, command) ? true : undefined;
    },
    { timeoutMs: timing.draftWaitMs, intervalMs: 30 },
  );
  await sleepFor(timing.settleMs);
  await pressEnter(ctx.tmux, agent.session);
  for (const retryMs of timing.enterRetryMs) {
    const stillThere = await waitFor(
      async () => {
        const screen = await screenNow();
        return screen && !commandInInput(screen, command) ? true : undefined;
      },
      { timeoutMs: retryMs, intervalMs: 50 },
    );
    if (stillThere) return;
    await pressEnter(ctx.tmux, agent.session);
  }
}

/** The runtime's own minimum gap between typing and Enter (a property of the TUI, not a guess at timing). */
const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
