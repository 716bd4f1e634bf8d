import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { trace } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-node';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UserError } from '../core/errors.js';
import type { AgentSpec } from '../roster/model.js';
import { tracedSupervisor } from '../supervisor/traced.js';
import type { Supervisor, SupervisorDeps } from '../supervisor/types.js';
import { tracesEndpoint, withSpan } from '../core/trace.js';
import { commandPath, startTracing, stopTracing, traceCommand } from './tracing.js';

afterEach(() => stopTracing());

/** Keeps every span it is given (the SDK's InMemorySpanExporter forgets them at shutdown). */
function collector(): SpanExporter & { spans: ReadableSpan[] } {
  const spans: ReadableSpan[] = [];
  return {
    spans,
    export: (batch, done) => {
      spans.push(...batch);
      done({ code: 0 });
    },
    shutdown: () => Promise.resolve(),
  };
}

describe('tracesEndpoint (OpenTelemetry spec semantics)', () => {
  it('is off unless an endpoint is set', () => {
    expect(tracesEndpoint({})).toBeUndefined();
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBeUndefined();
  });
  it('appends /v1/traces to the base endpoint, once', () => {
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe('http://127.0.0.1:4318/v1/traces');
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/base/' })).toBe('http://c:4318/base/v1/traces');
  });
  it('uses the traces endpoint as it is, before the base one', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom' };
    expect(tracesEndpoint(env)).toBe('http://b:4318/custom');
  });
  it('honours OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none', () => {
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
  });
});

describe('spans', () => {
  it('without a tracer, withSpan only runs the function', async () => {
    expect(await withSpan('x', {}, async (span) => (span.setAttributes({ a: 1 }), span.fail('no-op'), 42))).toBe(42);
  });

  it('nest across awaits, carry attributes, and record errors (status ERROR, exception event) before rethrowing', async () => {
    const exporter = collector();
    expect(await startTracing({ exporter, env: {} })).toBe(true);
    const error = new UserError('agent "x" is not in the roster');
    await withSpan('root', { 'mosaic.command': 'fleet start' }, async () => {
      await withSpan('fleet.start', { 'mosaic.agent': 'a', 'mosaic.agents': ['a'], skipped: undefined }, async (span) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        span.setAttributes({ 'mosaic.results': ['a=started'] });
      });
      await expect(withSpan('agent.send', {}, () => Promise.reject(error))).rejects.toBe(error);
    });
    await stopTracing();
    const byName = new Map(exporter.spans.map((span) => [span.name, span]));
    const root = byName.get('root')!;
    const start = byName.get('fleet.start')!;
    const send = byName.get('agent.send')!;
    expect(root.parentSpanContext).toBeUndefined();
    expect(start.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(send.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(start.spanContext().traceId).toBe(root.spanContext().traceId);
    expect(start.attributes).toEqual({ 'mosaic.agent': 'a', 'mosaic.agents': ['a'], 'mosaic.results': ['a=started'] });
    expect(start.status.code).toBe(0);
    expect(send.status).toEqual({ code: 2, message: error.message });
    expect(send.events.map((e) => e.name)).toEqual(['exception']);
    expect(send.events[0]!.attributes?.['exception.message']).toBe(error.message);
    expect(root.resource.attributes['service.name']).toBe('mosaic');
  });

  it('fleet.start/stop/restart: the agents and each result; an agent that failed fails the span', async () => {
    const exporter = collector();
    await startTracing({ exporter, env: {} });
    const inner: Supervisor = {
      kind: 'builtin',
      start: async (agents) => agents.map((a) => ({ agent: a.name, result: 'started' as const })),
      stop: async () => [],
      restart: async ([agent]) => [{ agent: agent!.name, result: 'error', error: 'no such runtime' }],
      observe: async () => [],
    };
    const deps = { roster: { tenantId: 'acme' }, tmux: { socket: 'mosaic-x' } } as unknown as SupervisorDeps;
    const supervisor = tracedSupervisor(inner, deps);
    const agents = [{ name: 'a' }, { name: 'b' }] as AgentSpec[];
    await supervisor.start(agents);
    await supervisor.restart([agents[1]!]);
    await stopTracing();
    const [start, restart] = exporter.spans;
    expect(start!.name).toBe('fleet.start');
    expect(start!.attributes).toEqual({
      'mosaic.fleet': 'acme',
      'mosaic.socket': 'mosaic-x',
      'mosaic.supervisor': 'builtin',
      'mosaic.agents': ['a', 'b'],
      'mosaic.results': ['a=started', 'b=started'],
    });
    expect(restart!.name).toBe('fleet.restart');
    expect(restart!.attributes['mosaic.agent']).toBe('b');
    expect(restart!.status).toEqual({ code: 2, message: 'b: no such runtime' });
  });

  it('a root span joins the caller trace named by TRACEPARENT', async () => {
    const exporter = collector();
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    await startTracing({ exporter, env: { TRACEPARENT: `00-${traceId}-b7ad6b7169203331-01` } });
    await withSpan('root', {}, () => withSpan('child', {}, async () => undefined));
    await stopTracing();
    const [child, root] = exporter.spans;
    expect(root!.spanContext().traceId).toBe(traceId);
    expect(root!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(child!.parentSpanContext?.spanId).toBe(root!.spanContext().spanId);
  });

  it('stopTracing never throws, also with nothing to stop', async () => {
    await expect(stopTracing()).resolves.toBeUndefined();
    await expect(stopTracing()).resolves.toBeUndefined();
  });
});

describe('traceCommand', () => {
  const leaf = (...names: string[]): Command => {
    let command = new Command('mosaic');
    for (const name of names) command = command.command(name);
    return command;
  };

  it('names commands by their path without the program', () => {
    expect(commandPath(leaf('fleet', 'start'))).toBe('fleet start');
    expect(commandPath(leaf('doctor'))).toBe('doctor');
  });

  it('with an endpoint that is no URL, warns once and runs the action untraced (was an internal error)', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' };
      expect(await traceCommand(leaf('fleet', 'status'), async () => trace.getActiveSpan(), env)).toBeUndefined();
      const written = stderr.mock.calls.map((call) => String(call[0])).join('');
      expect(written).toMatch(/^mosaic: warning: no traces: .*not a url.*; set OTEL_EXPORTER_OTLP_ENDPOINT to an http\(s\) URL/);
      expect(written.split('\n').filter(Boolean)).toHaveLength(1);
    } finally {
      stderr.mockRestore();
    }
  });

  it('with an endpoint that is not http(s) (localhost:4318 without a scheme, file://), warns once: it was silently untraced', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      for (const [variable, value, url, example] of [
        ['OTEL_EXPORTER_OTLP_ENDPOINT', 'localhost:4318', 'localhost:4318/v1/traces', 'http://localhost:4318'],
        ['OTEL_EXPORTER_OTLP_ENDPOINT', 'file:///tmp/traces', 'file:///tmp/traces/v1/traces', 'http://localhost:4318'],
        ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'ftp://collector/v1/traces', 'ftp://collector/v1/traces', 'http://localhost:4318/v1/traces'],
      ] as const) {
        stderr.mockClear();
        expect(await traceCommand(leaf('fleet', 'status'), async () => trace.getActiveSpan(), { [variable]: value })).toBeUndefined();
        const written = stderr.mock.calls.map((call) => String(call[0])).join('');
        expect(written).toBe(
          `mosaic: warning: no traces: ${variable}=${value} gives ${url}, not an http(s) URL; set ${variable} to one such as ${example}\n`,
        );
      }
    } finally {
      stderr.mockRestore();
    }
  });

  it('without an endpoint, just runs the action (and loads nothing)', async () => {
    expect(await traceCommand(leaf('fleet', 'ps'), async () => 3, {})).toBe(3);
  });

  it('never traces the long-lived and internal commands', async () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' };
    for (const names of [['stub-agent'], ['_supervise'], ['_any-new-hook'], ['agent', 'watch']]) {
      expect(await traceCommand(leaf(...names), async () => trace.getActiveSpan(), env)).toBeUndefined();
    }
  });
});

describe('OpenTelemetry stays out of every module but src/cli/tracing.ts', () => {
  const SRC = path.resolve(import.meta.dirname, '..');
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) return files(full);
      return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [full] : [];
    });

  it('only tracing.ts names @opentelemetry, with type imports and dynamic import() only', () => {
    const users = files(SRC).filter((file) => readFileSync(file, 'utf8').includes('@opentelemetry'));
    expect(users.map((file) => path.relative(SRC, file))).toEqual([path.join('cli', 'tracing.ts')]);
    const text = readFileSync(users[0]!, 'utf8');
    const mentions = text.split('\n').filter((line) => line.includes("'@opentelemetry/"));
    for (const line of mentions)
      expect(line).toMatch(/^import type .* from '@opentelemetry\/[a-z-]+';$|import\('@opentelemetry\/[a-z-]+'\)/);
    expect(mentions.some((line) => line.includes("import('@opentelemetry/"))).toBe(true);
  });
});
