/**
 * The tracing seam. Services wrap their work in `withSpan`; with no tracer installed (the normal
 * case: no OTLP endpoint configured) it just calls `fn`, so nothing here loads or costs anything.
 * The CLI installs an OpenTelemetry-backed tracer (src/cli/tracing.ts) only when `tracesEndpoint`
 * finds an endpoint; nothing below the CLI imports OpenTelemetry.
 */

/** Span attribute values: OpenTelemetry's primitives and string lists; `undefined` values are left out. */
export type SpanAttributes = Record<string, string | number | boolean | readonly string[] | undefined>;

/** What the code inside a span may do to it. */
export interface TraceSpan {
  setAttributes(attributes: SpanAttributes): void;
  /** Mark the span failed without an exception (a result that is a failure: an exit code, a verdict). */
  fail(message: string): void;
}

/**
 * A tracer: runs `fn` inside a span named `name`, the child of the span that is current where it
 * is called. An error thrown by `fn` is recorded on the span (status ERROR, an exception event)
 * and rethrown unchanged.
 */
export interface Tracer {
  span<T>(name: string, attributes: SpanAttributes, fn: (span: TraceSpan) => Promise<T>): Promise<T>;
}

const NO_SPAN: TraceSpan = {
  setAttributes: () => undefined,
  fail: () => undefined,
};

let installed: Tracer | undefined;

/** Install (or with `undefined`, remove) the process's tracer. Only the CLI calls this. */
export function installTracer(tracer: Tracer | undefined): void {
  installed = tracer;
}

/** Run `fn` in a span when a tracer is installed, else just run it. Errors are rethrown as they are. */
export function withSpan<T>(name: string, attributes: SpanAttributes, fn: (span: TraceSpan) => Promise<T>): Promise<T> {
  return installed ? installed.span(name, attributes, fn) : fn(NO_SPAN);
}

/**
 * The OTLP/HTTP traces URL from the environment, per the OpenTelemetry spec:
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as it is; OTEL_EXPORTER_OTLP_ENDPOINT gets `/v1/traces`.
 * Undefined (no traces) when neither is set, or when OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none.
 */
export function tracesEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}
