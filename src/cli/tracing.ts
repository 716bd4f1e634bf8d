/**
 * OpenTelemetry traces, only when an OTLP endpoint is configured (docs/decisions/013-traces.md).
 * This is the one module that touches OpenTelemetry, and only through dynamic imports; the program
 * imports it only when an endpoint is set (tracesEndpoint), so with none a command loads nothing of it.
 * An unreachable collector never fails a command and delays its exit by its 1 s timeout at most.
 */
import type { Context, Span } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import type { Command } from 'commander';
import { installTracer, tracesEndpoint, withSpan, type SpanAttributes, type Tracer } from '../core/trace.js';
import { packageVersion } from '../system/package.js';
import { err } from './output.js';

/** The exporter's timeout for one export, retries included; also the cap on the final flush. */
export const EXPORT_TIMEOUT_MS = 1000;

/**
 * Commands that never get a root span: they run for as long as someone watches them, or are the
 * fleet's own plumbing run by tmux and systemd (the hidden `_…` commands: hooks, watchdog, unit
 * steps; stub agents), where a trace per call would be noise and loading the SDK a cost each time.
 */
const UNTRACED = new Set(['stub-agent', 'yolo', 'run', 'agent watch', 'agent attach']);
const untraced = (path: string): boolean => path.startsWith('_') || UNTRACED.has(path);

/** `fleet start` for `mosaic fleet start …`: the names of the command and its parents, without the program's. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

interface Active {
  shutdown(): Promise<void>;
  /** Unregister the provider, context manager and propagator (so a later startTracing registers its own). */
  release(): void;
}
let active: Active | undefined;

/**
 * Install an OpenTelemetry tracer exporting to `url` (or, in tests, to `exporter`). Returns false,
 * after one warning line, when the SDK cannot be loaded (the packages are optional dependencies).
 */
export async function startTracing(options: { url?: string; exporter?: SpanExporter; env?: NodeJS.ProcessEnv }): Promise<boolean> {
  const env = options.env ?? process.env;
  let modules;
  try {
    modules = await Promise.all([
      import('@opentelemetry/api'),
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/resources'),
      options.exporter ? undefined : import('@opentelemetry/exporter-trace-otlp-http'),
    ]);
  } catch (error) {
    err(
      `mosaic: warning: no traces: the OpenTelemetry packages could not be loaded (${(error as Error).message.split('\n')[0]}); reinstall mosaic without --omit=optional`,
    );
    return false;
  }
  const [api, sdk, resources, otlp] = modules;
  if (env.MOSAIC_DEBUG) api.diag.setLogger(new api.DiagConsoleLogger(), api.DiagLogLevel.WARN);
  let exporter: SpanExporter;
  try {
    exporter = options.exporter ?? new otlp!.OTLPTraceExporter({ url: options.url, timeoutMillis: EXPORT_TIMEOUT_MS });
  } catch (error) {
    // A URL the exporter cannot parse (OTEL_EXPORTER_OTLP_ENDPOINT="not a url"): no traces, as with no SDK, not an internal error.
    err(
      `mosaic: warning: no traces: ${(error as Error).message.split('\n')[0]}; set OTEL_EXPORTER_OTLP_ENDPOINT to an http(s) URL such as http://localhost:4318`,
    );
    return false;
  }
  const provider = new sdk.NodeTracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': 'mosaic', 'service.version': packageVersion() }),
    spanProcessors: [new sdk.BatchSpanProcessor(exporter, { exportTimeoutMillis: EXPORT_TIMEOUT_MS })],
  });
  // The async-hooks context manager (spans nest across awaits) and the W3C propagator.
  provider.register();
  // A caller's trace (TRACEPARENT, as CI systems pass it) becomes the parent of the root span.
  const remote = env.TRACEPARENT
    ? api.propagation.extract(api.ROOT_CONTEXT, { traceparent: env.TRACEPARENT, tracestate: env.TRACESTATE ?? '' })
    : undefined;
  const tracer = provider.getTracer('mosaic', packageVersion());
  const failed = (span: Span, message: string): void => {
    span.setStatus({ code: api.SpanStatusCode.ERROR, message });
  };
  const impl: Tracer = {
    span: (name, attributes, fn) => {
      const parent: Context = remote && !api.trace.getSpan(api.context.active()) ? remote : api.context.active();
      return tracer.startActiveSpan(name, { attributes: otelAttributes(attributes) }, parent, async (span) => {
        try {
          const handle = {
            setAttributes: (more: SpanAttributes): void => {
              span.setAttributes(otelAttributes(more));
            },
            fail: (message: string): void => failed(span, message),
          };
          return await fn(handle);
        } catch (error) {
          span.recordException(error instanceof Error ? error : String(error));
          failed(span, error instanceof Error ? error.message : String(error));
          throw error;
        } finally {
          span.end();
        }
      });
    },
  };
  installTracer(impl);
  active = {
    shutdown: () => provider.shutdown(),
    release: () => {
      api.trace.disable();
      api.context.disable();
      api.propagation.disable();
    },
  };
  return true;
}

/** Install a tracer when the environment names an endpoint; false (and nothing loaded) otherwise. */
export async function startTracingIfConfigured(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const url = tracesEndpoint(env);
  if (url === undefined) return false;
  // A URL of another scheme (`localhost:4318` parses as scheme "localhost:") exported nothing, without a word.
  // One that does not parse at all is the exporter's to report (startTracing).
  const protocol = URL.canParse(url) ? new URL(url).protocol : undefined;
  if (protocol !== undefined && protocol !== 'http:' && protocol !== 'https:') {
    const variable = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
    const example = variable === 'OTEL_EXPORTER_OTLP_ENDPOINT' ? 'http://localhost:4318' : 'http://localhost:4318/v1/traces';
    err(
      `mosaic: warning: no traces: ${variable}=${env[variable]!.trim()} gives ${url}, not an http(s) URL; set ${variable} to one such as ${example}`,
    );
    return false;
  }
  return startTracing({ url, env });
}

/** Export what is left and remove the tracer: never throws, never takes much longer than EXPORT_TIMEOUT_MS. */
export async function stopTracing(): Promise<void> {
  const current = active;
  active = undefined;
  installTracer(undefined);
  if (!current) return;
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, EXPORT_TIMEOUT_MS + 250);
    timer.unref();
  });
  try {
    await Promise.race([current.shutdown().catch(() => undefined), cap]);
  } finally {
    clearTimeout(timer);
    current.release();
  }
}

/**
 * Run one command's action. With traces configured, inside the process's root span
 * (`mosaic fleet start`), flushed before returning; a non-zero exit code marks it failed.
 */
export async function traceCommand<T>(command: Command, run: () => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const path = commandPath(command);
  if (untraced(path) || !(await startTracingIfConfigured(env))) return run();
  try {
    return await withSpan(`mosaic ${path}`, { 'mosaic.command': path, 'mosaic.args': command.args }, async (span) => {
      const result = await run();
      if (typeof result === 'number') {
        span.setAttributes({ 'mosaic.exit_code': result });
        if (result !== 0) span.fail(`exit ${result}`);
      }
      return result;
    });
  } finally {
    await stopTracing();
  }
}

function otelAttributes(attributes: SpanAttributes): Record<string, string | number | boolean | string[]> {
  const result: Record<string, string | number | boolean | string[]> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined) result[key] = typeof value === 'object' ? [...value] : value;
  }
  return result;
}
