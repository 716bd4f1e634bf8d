import { rewriteAliases } from './aliases.js';
import { createRequire } from 'node:module';
import type * as Commander from 'commander';
import { yoloExpansion } from '../launch/profiles.js';
import { packageVersion } from '../system/package.js';
import { reportError } from './output.js';
import { runVerb, type VerbModule, type VerbTarget } from './run-verb.js';
import { describeProgram, type VerbSpec } from './verb-spec.js';

// commander is CommonJS: through require it loads 2–4 ms faster than through import, which scans
// its source for exports on every run.
const { Command, CommanderError, Option } = createRequire(import.meta.url)('commander') as typeof Commander;
type Command = Commander.Command;
type Option = Commander.Option;

/** Each action's module is imported only when that verb runs, so help and --version stay fast. */
const handlerTargets = new WeakMap<object, VerbTarget>();
const lazy = (module: VerbModule, name: string) => {
  const handler = async (...args: unknown[]): Promise<void> => runVerb({ module, name }, args[args.length - 1] as Command);
  handlerTargets.set(handler, { module, name });
  return handler;
};

/** A Command that remembers where its lazy action lives, for the quick path's spec (verb-spec.ts). */
class MosaicCommand extends Command {
  verbTarget: VerbTarget | undefined;
  override createCommand(name?: string): MosaicCommand {
    return new MosaicCommand(name);
  }
  override action(fn: (this: this, ...args: unknown[]) => void | Promise<void>): this {
    this.verbTarget = handlerTargets.get(fn);
    return super.action(fn);
  }
}

const fleet = (name: string) => lazy('fleet', name);
const agent = (name: string) => lazy('agent', name);
const observe = (name: string) => lazy('observe', name);
const approvals = (name: string) => lazy('approvals', name);
const json = (): Option => new Option('--json', 'print machine-readable JSON (always includes tenant_id and host)');

export function buildProgram(): Command {
  const program = new MosaicCommand('mosaic')
    .description('Keep a durable fleet of AI coding agents in tmux on an isolated socket: start, supervise, observe, message.')
    .version(packageVersion(), '-V, --version')
    .option('--roster <path>', 'roster file (default: <config root>/roster.yaml)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Config root: $MOSAIC_FLEET_HOME, else $XDG_CONFIG_HOME/mosaic/fleet, else ~/.config/mosaic/fleet.
Exit codes: 0 ok, 1 error or failed check, 2 usage error, 3 some hosts did not answer (fleet ps), 70 internal error.`,
    );

  const fleetCmd = program.command('fleet').description('the whole fleet: create a roster, start, stop, restart, check');
  fleetCmd
    .command('init')
    .description('print a starter roster, or write it with --write')
    .addOption(new Option('--profile <name>', 'roster profile').choices(['minimal', 'local-canary', 'usc', 'stub']).default('minimal'))
    .option('--write', 'write it to the roster path (atomically) instead of printing it')
    .option('--force', 'replace an existing roster')
    .addHelpText('after', '\nExample:\n  mosaic fleet init --profile stub --write')
    .action(fleet('init'));
  fleetCmd
    .command('start')
    .description('start agents that are not running (all when none are named); running ones are left alone')
    .argument('[agents...]', 'agent names from the roster')
    .addOption(json())
    .addHelpText('after', '\nExample:\n  mosaic fleet start            # every roster agent\n  mosaic fleet start coder0')
    .action(fleet('start'));
  fleetCmd
    .command('stop')
    .description('stop agents (all when none are named): kills exactly their sessions, nothing else')
    .argument('[agents...]', 'agent names from the roster')
    .option('--orphans', "instead: stop the sessions marked as mosaic's (@mosaic_agent) that the roster no longer names")
    .option('--socket <name>', "with --orphans: the tmux socket to clean up (default: the roster's, else $MOSAIC_TMUX_SOCKET)")
    .addOption(json())
    .addHelpText(
      'after',
      `
--orphans never stops a session without mosaic's mark, nor the holder session, and stops by exact
name. It works without a roster: if yours was deleted, replaced or no longer parses, name the socket
(every marked session on it, except the holder, is then an orphan):
  mosaic fleet stop --orphans                          # judged against the roster
  mosaic fleet stop --orphans --socket mosaic-factory  # roster gone: the socket it used
  mosaic fleet ps                                      # orphans show the flag "orphan"`,
    )
    .action(fleet('stop'));
  fleetCmd
    .command('restart')
    .description('restart agents in place (all when none are named); other agents are not touched; clears a failed state')
    .argument('[agents...]', 'agent names from the roster')
    .addOption(json())
    .action(fleet('restart'));
  fleetCmd
    .command('status')
    .description('state of every roster agent: running/restarting/failed/dead/stopped, pane pid, restarts, heartbeat')
    .addOption(json())
    .action(fleet('status'));
  fleetCmd
    .command('ps')
    .description(
      'the whole fleet in one table, every plane joined: supervisor/unit state, pane, processes, idle, heartbeat, flags (drift, boot, orphan, missing)',
    )
    .addOption(json())
    .option('--watch', 'redraw in place every --interval seconds until Ctrl-C (with --json: one JSON array per line)')
    .option('--interval <seconds>', 'seconds between redraws with --watch (default: 2)')
    .option('--attention', 'agents that need you first: permission, question, error, limit, done (the NEEDS column)')
    .addHelpText(
      'after',
      "\nExample:\n  mosaic fleet ps\n  mosaic fleet ps --attention\n  mosaic fleet ps --watch --interval 1\n  mosaic fleet ps --json | jq '.[] | select(.flags | length > 0)'",
    )
    .action(observe('ps'));
  fleetCmd
    .command('events')
    .description('the fleet event log: start, stop, crash, restart, failed, send (with its verdict), attention, approval, notification')
    .option('-f, --follow', 'after the matching events, keep printing new ones as they happen until Ctrl-C')
    .option('--since <time>', 'only events at or after this time: ISO 8601 (2025-05-01T10:00) or back from now (30s, 10m, 2h, 1d)')
    .option('--agent <name>', "only this agent's events")
    .option('--type <types>', 'only these types, comma-separated (start,stop,crash,restart,failed,send,attention,approval,notification)')
    .addOption(new Option('--json', 'JSON Lines: one event object per line (with tenant_id and host), streamed with -f'))
    .addHelpText(
      'after',
      `
The log is <config root>/logs/events.jsonl (rotated like transcripts). Message bodies are never logged.
Example:
  mosaic fleet events --since 1h
  mosaic fleet events -f --agent coder0 --type crash,restart,failed
  mosaic fleet events --json --type send | jq 'select(.verdict != "accepted")'`,
    )
    .action(lazy('events', 'events'));
  fleetCmd
    .command('pending')
    .description('open permission requests of every agent (oldest first): agent, id, tool, what it wants to do, age')
    .addOption(json())
    .addHelpText('after', '\nAnswer one with `mosaic agent approve <agent> [id]` or `mosaic agent deny <agent> [id] --message <why>`.')
    .action(approvals('pending'));
  fleetCmd
    .command('serve')
    .description('the web dashboard: the live fleet table, read-only live panes, send and approve/deny, on 127.0.0.1 with a token')
    .option('--port <n>', 'TCP port (0 picks a free one)', '7420')
    .option('--host <address>', 'address to bind; anything but loopback needs --token-file', '127.0.0.1')
    .option('--read-only', 'refuse every change (send, approve, deny): watch only')
    .option('--token-file <path>', 'read the token from this file (mode 0600, at least 32 characters) instead of the fleet token')
    .option('--rotate-token', 'make a new fleet token: old URLs and cookies stop working')
    .addHelpText(
      'after',
      `
Prints one line, "mosaic: serving http://127.0.0.1:7420/?token=…": open it. The fleet token is kept
0600 in the roster's state directory and reused next time. Every request needs it (cookie or
"Authorization: Bearer <token>"). The API is in docs/web-api.md. Runs until Ctrl-C; the agents keep running.
Example:
  mosaic fleet serve
  mosaic fleet serve --port 0 --read-only
  curl -H "Authorization: Bearer $(cat ~/.config/mosaic/fleet/serve.token)" http://127.0.0.1:7420/api/fleet`,
    )
    .action(lazy('serve', 'serve'));
  fleetCmd
    .command('verify')
    .description('check that every agent has exactly its session, no stray sessions, and the server is ours; exit 1 on problems')
    .option(
      '--restart-check <agent>',
      'also restart this agent and prove isolation: its pane PID changes, the holder and siblings keep theirs',
    )
    .addOption(json())
    .action(fleet('verify'));
  const systemd = (name: string) => lazy('systemd', name);
  fleetCmd
    .command('install-systemd')
    .description('write the holder unit and agent template for systemd --user (plus per-agent env files), daemon-reload')
    .option('--enable', 'also enable the holder and every roster agent for boot')
    .option('--force', 'overwrite unit and env files that were changed by hand or not written by mosaic')
    .addOption(json())
    .addHelpText(
      'after',
      '\nUnits go to $XDG_CONFIG_HOME/systemd/user (default ~/.config/systemd/user).\nExample:\n  mosaic fleet install-systemd --enable',
    )
    .action(systemd('installUnits'));
  fleetCmd
    .command('uninstall-systemd')
    .description('stop the fleet units and remove exactly what install-systemd wrote')
    .option('--force', 'also remove files changed by hand since install, and units installed for another roster')
    .addOption(json())
    .action(systemd('uninstallUnits'));
  fleetCmd
    .command('enable')
    .description('systemd mode: start agents at boot / login (all when none are named)')
    .argument('[agents...]', 'agent names from the roster')
    .addOption(json())
    .action(systemd('enable'));
  fleetCmd
    .command('disable')
    .description('systemd mode: do not start agents at boot (all, and the holder, when none are named)')
    .argument('[agents...]', 'agent names from the roster')
    .addOption(json())
    .action(systemd('disable'));

  const agentCmd = program.command('agent').description('one agent: roster entry, status, screen, reset');
  agentCmd.command('roster').description('list the agents of the roster').addOption(json()).action(agent('roster'));
  const agents = (name: string) => lazy('agents', name);
  agentCmd
    .command('new')
    .description('create and start an agent that is not in the roster file (ephemeral), optionally in its own git worktree')
    .argument('<name>', 'agent name (^[A-Za-z0-9_.-]+$, not used by any agent)')
    .requiredOption('--runtime <runtime>', 'claude, codex, pi, opencode, stub, or one defined under runtimes')
    .option('--workdir <dir>', "working directory (with --worktree: the repository); default: the roster's")
    .option('--worktree [branch]', 'run in a new git worktree under the fleet home, on branch mosaic/<name> or the one named')
    .option('--mode <mode>', 'yolo or safe (default: safe)')
    .option('--model <model>', "the runtime's model")
    .option('--class <class>', 'agent class (also picks the shipped persona)')
    .option('-m, --message <text>', 'its first prompt, sent once it is up (like kickstart_template)')
    .addOption(json())
    .addHelpText(
      'after',
      "\nExample:\n  mosaic agent new fix-login --runtime claude --workdir ~/src/app --worktree -m 'fix the login bug in auth.ts, commit when tests pass'\n  mosaic agent done fix-login\n  mosaic agent rm fix-login\nUpstream spelling: mosaic agent --new <name> ….",
    )
    .action(agents('create'));
  agentCmd
    .command('list')
    .description('every agent: roster and ephemeral (origin), with worktree and branch')
    .addOption(json())
    .action(agents('list'));
  agentCmd
    .command('show')
    .description('everything mosaic knows about one agent: entry, launch argv, worktree, state')
    .argument('<agent>', 'agent name')
    .addOption(json())
    .action(agents('show'));
  agentCmd
    .command('rm')
    .description(
      'stop an ephemeral agent and forget it; its worktree (and its branch, if mosaic created it) goes only if nothing would be lost',
    )
    .argument('<agent>', 'agent name')
    .option('--keep-worktree', 'leave the worktree and its branch where they are')
    .option('--force', 'remove the agent even if its worktree holds unsaved work (the worktree is then kept, never deleted)')
    .addOption(json())
    .action(agents('remove'));
  agentCmd
    .command('done')
    .description('a worktree agent\'s branch: commits since it started, files changed, clean or not (check before you accept "done")')
    .argument('<agent>', 'agent name')
    .addOption(json())
    .action(agents('done'));
  agentCmd
    .command('status')
    .description("one agent's state; every agent's (the rows of `fleet status`) when none is named")
    .argument('[agent]', 'agent name')
    .addOption(json())
    .action(agent('status'));
  agentCmd
    .command('tail')
    .description('print the last lines of what the agent shows (the visible screen for full-screen TUIs)')
    .argument('<agent>', 'agent name')
    .option('-n, --lines <n>', 'number of lines', '80')
    .addOption(json())
    .action(agent('tail'));
  agentCmd
    .command('reset')
    .description(
      "start a new conversation: type the runtime's reset command and prove it took, else restart the agent with a new session; then the kickstart",
    )
    .argument('<agent>', 'agent name')
    .addOption(new Option('--clear', 'clear the conversation (e.g. /clear)').conflicts('new'))
    .addOption(new Option('--new', 'start a new conversation (e.g. /new)'))
    .option('--restart', 'skip the reset command: restart the agent with a new session')
    .option('--force', 'reset an agent whose roster says persistent_persona: true')
    .addOption(json())
    .addHelpText(
      'after',
      "\nThe command is typed only once the runtime's input is there and free (up to 10 s; else exit 1, nothing typed),\nand never while the agent waits on a permission prompt. --restart types nothing.",
    )
    .action(agent('reset'));
  agentCmd
    .command('approve')
    .description("allow the agent's open permission request (its only one, or the id given) without typing into its pane")
    .argument('<agent>', 'agent name')
    .argument('[id]', 'request id from `mosaic fleet pending` (needed when the agent has more than one)')
    .addOption(json())
    .addHelpText('after', '\nExit status: 0 the runtime took the answer, 1 it did not (no such request, or its hook is gone).')
    .action(approvals('approve'));
  agentCmd
    .command('deny')
    .description("refuse the agent's open permission request (its only one, or the id given); the runtime goes on without it")
    .argument('<agent>', 'agent name')
    .argument('[id]', 'request id from `mosaic fleet pending`')
    .option('-m, --message <text>', 'why, passed to the runtime (claude shows it to the model)')
    .addOption(json())
    .action(approvals('deny'));
  agentCmd
    .command('watch')
    .description("live read-only view of the agent's pane: cannot type into it, never resizes it (detach: C-b d)")
    .argument('<agent>', 'agent name')
    .action(observe('watch'));
  agentCmd
    .command('attach')
    .description(
      'interactive takeover: attach to the agent in this terminal, everything you type goes to it (detach: C-b d); refused while it is not running',
    )
    .argument('<agent>', 'agent name')
    .action(observe('attach'));
  agentCmd
    .command('logs')
    .description("the agent's transcript: everything its pane printed (<config root>/logs/<agent>.log, size-capped)")
    .argument('<agent>', 'agent name')
    .option('-n, --lines <n>', 'number of lines', '100')
    .option('-f, --follow', 'keep printing new output until Ctrl-C')
    .option('--strip-ansi', 'remove terminal escape sequences: plain text')
    .addOption(json())
    .action(observe('logs'));
  const messageOptions = (command: Command): Command =>
    command
      .option('-m, --message <text>', 'the message (else --file, else stdin)')
      .option('-f, --file <path>', 'read the message from a file (UTF-8)')
      .option('--source-label <label>', 'who the preamble names as sender (default: <hostname>:operator)')
      // Upstream's name for --source-label.
      .option('--source <label>', 'same as --source-label')
      .on('option:source', function (this: Command, value: string) {
        this.setOptionValueWithSource('sourceLabel', value, 'cli');
      })
      .option('--no-preamble', 'send the body alone, without "[<source> -> <agent> #<send id>] "')
      .option('--verify', 'wait for evidence that the agent took it: exit 1 on draft or unverifiable')
      .option('--verify-timeout <ms>', 'how long to wait for evidence (default 6000)')
      .option('--no-reset', 'reset_between_tasks agents: deliver into the current conversation, no reset first')
      .addOption(json());
  messageOptions(
    agentCmd
      .command('send')
      .description('deliver a message to an agent: one bracketed paste, then Enter (retried while it stays a draft)')
      .argument('<agent>', 'agent name'),
  )
    .addHelpText(
      'after',
      `
--verify results: accepted (exit 0), queued (exit 0: the agent reads it after its current turn),
draft (exit 1: the text sits unsubmitted in the input), unverifiable (exit 1: no evidence).
Why a verdict: MOSAIC_SEND_TRACE=<file> appends each step, with the screen judged, as JSON lines.
Example:
  mosaic agent send coder0 --verify -m 'run the tests in pkg/api'
  git diff | mosaic agent send reviewer0 --verify --source-label ci`,
    )
    .action(lazy('send', 'send'));
  messageOptions(
    agentCmd
      .command('broadcast')
      .description('send the same message to many agents in parallel; one result line per agent, exit 1 if any failed')
      .argument('[agents...]', 'agent names (or use --all / --class)')
      .option('--all', 'every agent in the roster')
      .option('--class <class>', 'the agents of this class'),
  ).action(lazy('send', 'broadcast'));

  const tenant = (name: string) => lazy('tenant', name);
  const tenantCmd = program.command('tenant').description('tenants: Linux users with their own mosaic home, socket and systemd --user');
  tenantCmd
    .command('add')
    .description('(root) create the user if needed, enable linger, write its starter roster (stub profile, its own socket)')
    .argument('<name>', 'Linux login name, also its host name in rosters (^[a-z][a-z0-9_-]{0,30}$); an existing user needs uid >= 1000')
    .option('--force', "replace the tenant's existing roster")
    .option('--socket <name>', "the tenant's tmux socket (default: mosaic-<name>)")
    .addOption(json())
    .addHelpText(
      'after',
      `
The roster goes to <home>/.config/mosaic/fleet/roster.yaml (0600, directories 0700, owned by the tenant).
Then add the tenant to the operator's roster as a host (the command prints the lines):
  hosts:
    <name>:
      ssh: <name>@localhost
Example:
  sudo mosaic tenant add alice`,
    )
    .action(tenant('add'));

  const foregroundCommand = (name: 'yolo' | 'run', what: string): Command =>
    program
      .command(name)
      .description(what)
      .argument('<runtime>', 'claude, codex, opencode or pi')
      .argument('[prompt...]', 'the first prompt')
      .option('--model <model>', "passed as the runtime's model flag (claude --model, codex -m, opencode -m, pi --model)")
      .option('--name <name>', 'names the private config and session (default: <yolo|safe>-<runtime>)')
      .option('--resume', "continue this name's previous conversation instead of starting a new one")
      .addHelpText('after', () => `\nArguments after a lone "--" go to the runtime as they are.\n`)
      .action(lazy('foreground', name));
  foregroundCommand(
    'yolo',
    'run one runtime unattended in this terminal, with the flags, config and hooks of a yolo fleet agent',
  ).addHelpText('after', () => `\nWhat yolo adds, per runtime:\n${yoloExpansion().join('\n')}\n`);
  foregroundCommand('run', 'run one runtime in this terminal as a safe fleet agent does (it asks before acting)');

  program
    .command('stub-agent')
    .description('run the stub agent in this terminal (what `runtime: stub` launches; for demos and tests)')
    .option('--drop-first-enter', 'ignore the first Enter, leaving the first message as a draft')
    .option('--ignore-enter', 'ignore every Enter: nothing is ever submitted')
    .option('--crash-after <n>', 'exit with status 3 after n acknowledged messages (0: at once)')
    .option('--slow-ms <ms>', 'stay busy this long before acknowledging')
    .option('--interval <seconds>', 'heartbeat interval: a positive number of seconds (15, 0.5)')
    .option('--record-dir <dir>', 'also write each received message body to <dir>/<seq>.msg')
    .action(lazy('stub-agent', 'stubAgent'));

  program
    .command('doctor')
    .description('check tmux, each runtime (installed, version), and each agent (hook installed, credentials); exit 1 with what to fix')
    .addOption(json())
    .action(lazy('doctor', 'doctor'));

  program
    .command('demo')
    .description('start a 3-agent stub fleet on a private socket, show it, restart one agent, show it again')
    .option('--stop', 'stop the demo fleet instead')
    .action(lazy('demo', 'demo'));

  program
    .command('_systemd', { hidden: true })
    .description('internal: the steps the generated systemd units run')
    .argument('<step>', 'holder-check | holder-ready')
    .action(lazy('unit-steps', 'step'));

  program
    .command('_needs-you', { hidden: true })
    .description("internal: the fleet's needs-you process (notifications, on_limit), kept running by the watchdog")
    .requiredOption('--socket <name>', "the fleet's tmux socket")
    .option('--tick-ms <ms>', 'milliseconds between readings of the fleet')
    .action(lazy('needs-you', 'needsYou'));

  program
    .command('_supervise', { hidden: true })
    .description('internal: called by the tmux pane-died hook and the fleet watchdog')
    .argument('<event>', 'pane-died | transcripts')
    .requiredOption('--socket <name>')
    .option('--agent <name>')
    .option('--holder <session>')
    .option('--status <code>')
    .option('--signal <number>')
    .option('--pid <pid>')
    .option('--dead-time <seconds>')
    .option('--watchdog')
    .option('--pane <id>')
    .action(lazy('supervise', 'supervise'));

  for (const command of [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)]) {
    command.exitOverride();
  }
  const hostCmd = program.command('host').description('other machines (roster hosts:) whose own mosaic runs some of the agents');
  hostCmd
    .command('check')
    .description(
      'per host: reachable over ssh, its mosaic and protocol, tmux, runtimes on its non-interactive PATH, linger, systemd --user',
    )
    .argument('[host...]', 'roster host names (default: all)')
    .addOption(json())
    .action(lazy('hosts', 'check'));
  program
    .command('_host-roster', { hidden: true })
    .description("receive this host's part of an operator's roster on stdin (run over ssh by the operator's mosaic)")
    .requiredOption('--origin <name>', 'who sends it (tenant@host)')
    .action(lazy('hosts', 'hostRoster'));

  const framework = (name: string) => lazy('framework', name);
  const contractHelp = `
Files: <config root>/contract/{AGENTS,CONSTITUTION}.md (the agent contract, put in every agent's system
prompt ahead of its persona), the roster, and <config root>/.mosaic-manifest.json (the sha256 of what
mosaic wrote). One row per file: written, kept, replaced, unchanged or new-beside (<file>.new).
Example:`;
  program
    .command('init')
    .description('deploy the agent contract and a starter roster into the config root; existing files are kept unless --force')
    .addOption(
      new Option('--profile <name>', 'starter roster profile').choices(['minimal', 'local-canary', 'usc', 'stub']).default('minimal'),
    )
    .option('--force', 'replace existing files (the roster too) with the shipped versions')
    .addOption(json())
    .addHelpText(
      'after',
      `${contractHelp}\n  mosaic init\n  mosaic init --profile stub --json\n  mosaic init --force   # back to the shipped files`,
    )
    .action(framework('init'));
  program
    .command('update')
    .description('refresh the contract files mosaic wrote; keep edited ones (the new version goes beside them); never replace the roster')
    .addOption(json())
    .addHelpText(
      'after',
      `${contractHelp}\n  mosaic update          # a second run changes nothing\n  mosaic update --json | jq '.[] | select(.action == "new-beside")'`,
    )
    .action(framework('update'));

  const forge = (name: string) => lazy('forge', name);
  const forgeOptions = (command: Command): Command =>
    command
      .addOption(
        new Option('--forge <kind>', 'github or gitea (default: from the origin remote: github.com is github, any other host gitea)'),
      )
      .option('--api <url>', 'API root: GitHub the root that serves /repos (https://api.github.com), Gitea the /api/v1 root')
      .option('--repo <owner/repo>', 'the repository (default: from the origin remote)')
      .addOption(new Option('--json', 'print machine-readable JSON'));
  const forgeHelp = `
Token: $MOSAIC_FORGE_TOKEN, else $GITHUB_TOKEN / $GITEA_TOKEN, else <config root>/forge-credentials.json
({"hosts": {"<API host>": {"token": "…"}}}, mode 0600, exact host match). Never on the command line, never printed.`;
  const forgeCmd = program.command('forge').description('GitHub and Gitea helpers over their REST APIs: issues, comments, CI wait');
  const issueCmd = forgeCmd.command('issue').description('create issues and comment on them; bodies reach the forge byte for byte');
  forgeOptions(
    issueCmd
      .command('create')
      .description('open an issue: the body from --body-file or stdin, sent exactly as given')
      .requiredOption('--title <title>', 'the issue title')
      .option('--body-file <file>', 'read the body from this file ("-": stdin); default: stdin'),
  )
    .addHelpText(
      'after',
      `${forgeHelp}
Example:
  mosaic forge issue create --repo acme/api --title 'Flaky test in pkg/db' --body-file report.md
  git log -1 --format=%B | mosaic forge issue create --title 'Follow-up' --forge gitea --api https://git.example.com/api/v1`,
    )
    .action(forge('issueCreate'));
  forgeOptions(
    issueCmd
      .command('comment')
      .description('comment on an issue or pull request: the body from --body-file or stdin, sent exactly as given')
      .argument('<number>', 'the issue (or pull request) number')
      .option('--body-file <file>', 'read the body from this file ("-": stdin); default: stdin'),
  )
    .addHelpText('after', `${forgeHelp}\nExample:\n  mosaic forge issue comment 42 --repo acme/api --body-file review.md`)
    .action(forge('issueComment'));
  const ciCmd = forgeCmd.command('ci').description("a commit's CI: commit statuses and check runs together");
  forgeOptions(
    ciCmd
      .command('wait')
      .description('wait until the CI of a pull request head or a commit is green, red, absent or out of time')
      .option('--pr <number>', 'the pull request whose head commit to watch (a new push restarts the wait on the new head)')
      .option('--sha <commit>', 'the commit to watch')
      .option('--timeout <duration>', 'give up after this long (exit 124)', '30m')
      .option('--interval <duration>', 'between polls, at least 1s (3s, 1m)', '3s')
      .option('--ci-grace <duration>', 'zero statuses and zero check runs for this long means no CI (exit 3)', '20s'),
  )
    .addHelpText(
      'after',
      `
Exit status: 0 every status and check run passed, 1 one failed (named), 3 no CI configured
(nothing reported within --ci-grace), 124 timeout. A progress line goes to stderr on a terminal.
${forgeHelp.trim()}
Example:
  mosaic forge ci wait --pr 17
  mosaic forge ci wait --repo acme/api --sha 3f2c9e1 --timeout 10m --json | jq .failing`,
    )
    .action(forge('ciWait'));

  const sanitizeCmd = program.command('sanitize').description('the sanitization gate: no secrets and no private names in the files');
  sanitizeCmd
    .command('check')
    .description(
      'scan files for secrets (GitHub/GitLab/Gitea tokens, AWS keys, private keys, password=/token= values) and deny-listed names',
    )
    .argument('[paths...]', 'files and directories (default: .); a directory in a git work tree means its tracked and unignored files')
    .option('--config <file>', 'deny and allow lists (default: <repository top>/.mosaic/sanitize.yaml)')
    .option('--self-test', 'only prove that every rule flags its built-in sample (and leaves its clean lines alone)')
    .addOption(new Option('--json', 'print machine-readable JSON (findings never include the matched text)'))
    .addHelpText(
      'after',
      `
Every text file is read, whatever its extension; binary files (a NUL byte) are skipped.
Exit status: 0 clean, 1 findings (file:line:column and rule) or a failed --self-test, 2 bad config.
.mosaic/sanitize.yaml:
  deny: [git.corp.example, jdoe]         # private host and user names (case-insensitive, whole words)
  allow:
    - docs/vendor/**                     # no rule applies to these files
    - path: test/fixtures/*.txt          # only these rules are off there
      rules: [github-token]
      reason: fake tokens the parser tests read
Example:
  mosaic sanitize check
  mosaic sanitize check src docs --json | jq '.findings[] | "\\(.file):\\(.line) \\(.rule)"'
  mosaic sanitize check --self-test`,
    )
    .action(lazy('sanitize', 'check'));

  return program;
}

/** The quick path's spec of this program (written to dist/cli/verbs.json at build time). */
export function verbSpec(program = buildProgram()): VerbSpec {
  return describeProgram(program, (command) => (command instanceof MosaicCommand ? command.verbTarget : undefined));
}

/** Parse, run, and map every outcome to an exit code. The program's one exit point. */
export async function runProgram(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    // No command at all, like `mosaic fleet` without a subcommand: the help, on stderr, as a usage error.
    if (argv.length <= 2) {
      program.outputHelp({ error: true });
      return 2;
    }
    await program.parseAsync(rewriteAliases(argv));
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      // Help commander shows unasked (a group without its subcommand, `help <unknown>`) has exitCode 1.
      if (error.code === 'commander.help') return error.exitCode === 0 ? 0 : 2;
      // commander already printed the message
      return 2;
    }
    return reportError(error);
  }
}
