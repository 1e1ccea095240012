/**
 * OpenTelemetry traces, only when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set and OTEL_SDK_DISABLED is not: spans for each
 * GraphQL request's parse, validate and execute phases and for each SQL statement
 * (plugins/tracing.ts), sent over OTLP/HTTP. Which traces are kept is the standard
 * OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (config.ts parses them, so a bad value stops
 * the server with its name; the installed SDK, @opentelemetry/sdk-trace 2, does not read them
 * itself), built here into the SDK's own samplers.
 *
 * Without it there is nothing, at no cost: this module imports OpenTelemetry's types only, and
 * loads its code, and the plugin that uses it, with `import()` behind the configuration check.
 * So an untraced server never even loads an OpenTelemetry module, adds no plugin and sends its
 * SQL without a wrapper (test/observability/tracing.test.ts proves all three).
 */
import type { TracerProvider } from '@opentelemetry/api';
import type { Sampler } from '@opentelemetry/sdk-trace';
import type { Config, TraceSampler } from '../config.ts';
import type { Tracing } from '../plugins/tracing.ts';

/** The name the spans' instrumentation scope carries. */
const TRACER_NAME = 'orders-api';

/**
 * Tracing as configured: spans batched and POSTed to the collector as OTLP/HTTP JSON.
 * `undefined`, having loaded nothing, when tracing is not configured.
 */
export async function startTracing(config: Config['tracing']): Promise<Tracing | undefined> {
  if (!config) return undefined;
  const [{ BatchSpanProcessor, TracerProvider }, { OTLPTraceExporter }, resources, conventions] =
    await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/semantic-conventions'),
    ]);
  const tracerProvider = new TracerProvider({
    sampler: await createSampler(config.sampler),
    resource: resources
      .defaultResource()
      .merge(
        resources.resourceFromAttributes({ [conventions.ATTR_SERVICE_NAME]: config.serviceName }),
      ),
    // The exporter also honours OpenTelemetry's own OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT,
    // _COMPRESSION and certificate variables; the URL given here wins over its endpoint ones.
    spanProcessors: [
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: config.url }) }),
    ],
  });
  return createTracing(tracerProvider);
}

/** The SDK's sampler for a configured one (OTEL_TRACES_SAMPLER's names, the spec's meanings). */
export async function createSampler(settings: TraceSampler): Promise<Sampler> {
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } =
    await import('@opentelemetry/sdk-trace');
  switch (settings.name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(settings.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.ratio) });
  }
}

/**
 * Tracing into any tracer provider: a test's in-memory exporter, or an SDK set up elsewhere.
 * `shutdown` shuts the provider down when it can be.
 */
export async function createTracing(
  tracerProvider: TracerProvider & { shutdown?(): Promise<void> },
): Promise<Tracing> {
  const { traceStatements, useTracing } = await import('../plugins/tracing.ts');
  const tracer = tracerProvider.getTracer(TRACER_NAME);
  return {
    plugin: useTracing({ tracer }),
    observeStatement: traceStatements(tracer),
    shutdown: async () => {
      await tracerProvider.shutdown?.();
    },
  };
}
