import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createFleet, eventually, roster, type TestFleet } from './harness.js';

// OpenTelemetry traces (docs/decisions/013-traces.md): the built CLI exports spans over OTLP/HTTP
// (JSON) to a loopback receiver; an unreachable collector costs a command no more than its timeout;
// with no endpoint the SDK is never loaded.

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: OtlpValue }[];
  events?: { name: string }[];
  status?: { code?: number; message?: string };
}
interface Span {
  traceId: string;
  spanId: string;
  parent: string | undefined;
  name: string;
  attributes: Record<string, unknown>;
  events: string[];
  status: number;
  service: unknown;
}

const valueOf = (value: OtlpValue): unknown =>
  value.arrayValue
    ? (value.arrayValue.values ?? []).map(valueOf)
    : (value.stringValue ?? (value.intValue === undefined ? value.boolValue : Number(value.intValue)));
const attributesOf = (list: { key: string; value: OtlpValue }[] = []): Record<string, unknown> =>
  Object.fromEntries(list.map(({ key, value }) => [key, valueOf(value)]));

/** An OTLP/HTTP traces receiver on 127.0.0.1: it keeps every span of every POST /v1/traces (JSON encoding). */
async function otlpReceiver(): Promise<{ url: string; spans: Span[]; contentTypes: Set<string> }> {
  const spans: Span[] = [];
  const contentTypes = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.add(String(req.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: { resource?: { attributes?: { key: string; value: OtlpValue }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const resource of body.resourceSpans) {
        const service = attributesOf(resource.resource?.attributes)['service.name'];
        for (const scope of resource.scopeSpans) {
          for (const span of scope.spans) {
            spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parent: span.parentSpanId || undefined,
              name: span.name,
              attributes: attributesOf(span.attributes),
              events: (span.events ?? []).map((event) => event.name),
              status: span.status?.code ?? 0,
              service,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, contentTypes };
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The fleet's environment without any OpenTelemetry setting of the machine running the tests. */
function cleanEnv(fleet: TestFleet, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...fleet.env };
  for (const key of Object.keys(env)) if (key.startsWith('OTEL_') || key === 'TRACEPARENT' || key === 'TRACESTATE') delete env[key];
  return { ...env, ...extra };
}

function stubFleet(): TestFleet {
  const fleet = createFleet();
  fleet.writeRoster(
    roster(
      fleet.socket,
      'defaults:\n  working_directory: work\nagents:\n  - name: alpha\n    runtime: stub\n  - name: beta\n    runtime: stub\n',
    ),
  );
  return fleet;
}

describe('OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('start, send --verify, restart and stop export their spans: one tree per command, with the agent', async () => {
    const fleet = stubFleet();
    const receiver = await otlpReceiver();
    const env = cleanEnv(fleet, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    const run = async (args: string[]): Promise<Span[]> => {
      const before = receiver.spans.length;
      const result = await fleet.mosaic(args, { env });
      expect(result.status, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(result.stderr).toBe('');
      // The CLI flushes before it exits; the receiver has the root span by the time it has answered.
      const root = `mosaic ${args
        .filter((a) => !a.startsWith('-'))
        .slice(0, 2)
        .join(' ')}`;
      return eventually(
        () => {
          const spans = receiver.spans.slice(before);
          return spans.some((span) => span.name === root) ? spans : undefined;
        },
        10_000,
        `the spans of ${root}`,
      );
    };
    /** The command's spans as `name <- parent name` lines; all of one trace. */
    const tree = (spans: Span[]): string[] => {
      expect(new Set(spans.map((s) => s.traceId)).size, JSON.stringify(spans)).toBe(1);
      const names = new Map(spans.map((s) => [s.spanId, s.name]));
      return spans.map((s) => `${s.name} <- ${s.parent === undefined ? '(root)' : (names.get(s.parent) ?? `unknown ${s.parent}`)}`).sort();
    };
    const named = (spans: Span[], name: string): Span => spans.find((s) => s.name === name)!;

    const started = await run(['fleet', 'start']);
    expect(tree(started)).toEqual(['fleet.start <- mosaic fleet start', 'mosaic fleet start <- (root)']);
    expect(named(started, 'fleet.start').attributes).toMatchObject({
      'mosaic.socket': fleet.socket,
      'mosaic.supervisor': 'builtin',
      'mosaic.agents': ['alpha', 'beta'],
      'mosaic.results': ['alpha=started', 'beta=started'],
    });
    expect(named(started, 'mosaic fleet start').attributes).toMatchObject({ 'mosaic.command': 'fleet start', 'mosaic.exit_code': 0 });
    expect(started[0]!.service).toBe('mosaic');
    expect([...receiver.contentTypes]).toEqual(['application/json']);

    const sent = await run(['agent', 'send', 'alpha', '--verify', '--verify-timeout', '20000', '-m', 'hello']);
    expect(tree(sent)).toEqual(['agent.send <- mosaic agent send', 'agent.send.verify <- agent.send', 'mosaic agent send <- (root)']);
    expect(named(sent, 'agent.send').attributes).toMatchObject({
      'mosaic.agent': 'alpha',
      'mosaic.verdict': 'accepted',
      'mosaic.verify': true,
    });
    expect(named(sent, 'agent.send.verify').attributes).toMatchObject({ 'mosaic.agent': 'alpha', 'mosaic.verdict': 'accepted' });

    const restarted = await run(['fleet', 'restart', 'beta']);
    expect(tree(restarted)).toEqual(['fleet.restart <- mosaic fleet restart', 'mosaic fleet restart <- (root)']);
    expect(named(restarted, 'fleet.restart').attributes).toMatchObject({ 'mosaic.agent': 'beta', 'mosaic.results': ['beta=restarted'] });

    // A failing command: its root span is failed and carries the exception.
    const before = receiver.spans.length;
    const unknown = await fleet.mosaic(['agent', 'send', 'nosuch', '-m', 'x'], { env });
    expect(unknown.status).toBe(1);
    const failed = await eventually(
      () => receiver.spans.slice(before).find((s) => s.name === 'mosaic agent send'),
      10_000,
      'the failed send',
    );
    expect(failed.status).toBe(2);
    expect(failed.events).toEqual(['exception']);

    const stopped = await run(['fleet', 'stop']);
    expect(tree(stopped)).toEqual(['fleet.stop <- mosaic fleet stop', 'mosaic fleet stop <- (root)']);
    expect(named(stopped, 'fleet.stop').attributes['mosaic.results']).toEqual(['alpha=stopped', 'beta=stopped']);

    // Only the commands above sent traces: the stub agents, hooks and watchdog (which inherit the
    // variable through the tmux server) are not traced.
    expect(receiver.spans.filter((s) => s.parent === undefined).map((s) => s.name)).toEqual([
      'mosaic fleet start',
      'mosaic agent send',
      'mosaic fleet restart',
      'mosaic agent send',
      'mosaic fleet stop',
    ]);
  });

  it('an unreachable collector neither fails nor noticeably slows a command', async () => {
    const fleet = stubFleet();
    const port = await closedPort();
    const unreachable = cleanEnv(fleet, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
    const timed = async (args: string[], env: NodeJS.ProcessEnv): Promise<number> => {
      const started = performance.now();
      const result = await fleet.mosaic(args, { env });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toBe(''); // no export error is printed
      return performance.now() - started;
    };
    await timed(['fleet', 'start'], unreachable);
    await timed(['fleet', 'stop'], unreachable);
    // The export gives up after its 1 s timeout. Without it the SDK waits 10 s and more. The margin is
    // generous: the machine may be loaded.
    const plain = await timed(['agent', 'roster'], cleanEnv(fleet));
    const traced = await timed(['agent', 'roster'], unreachable);
    expect(traced).toBeLessThan(plain + 5000);
  });

  it('without an endpoint, no OpenTelemetry module is loaded (--version, fleet ps)', async () => {
    const fleet = stubFleet();
    // NODE_DEBUG=esm makes node name every module it loads on stderr.
    const loaded = async (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<string> => {
      const result = await fleet.mosaic(args, { env: cleanEnv(fleet, { NODE_DEBUG: 'esm', ...extra }) });
      expect(result.status, result.stderr.slice(-2000)).toBe(0);
      expect(result.stderr).toContain('dist/cli/main.js'); // the debug output is there
      return result.stderr;
    };
    expect(await loaded(['--version'])).not.toContain('@opentelemetry');
    const ps = await loaded(['fleet', 'ps']);
    expect(ps).toContain('dist/cli/ps.js'); // the bundle's chunk of fleet/ps (scripts/bundle.mjs)
    expect(ps).not.toContain('@opentelemetry');
    expect(ps).not.toContain('dist/cli/tracing.js');
    // The check can see the SDK: with an endpoint (nothing listens there), it is loaded.
    const port = await closedPort();
    const traced = await loaded(['fleet', 'ps'], { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
    expect(traced).toContain('dist/cli/tracing.js');
    expect(traced).toContain('/node_modules/@opentelemetry/sdk-trace-node/');
  });
});
