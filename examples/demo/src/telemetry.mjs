// The demo's observability: sess's metrics in the Prometheus text format at /metrics (through
// @sess/opentelemetry and the OpenTelemetry Prometheus exporter), and the store latency of the last requests
// for the Debug page (a plain subscriber of the sess:request and sess:store tracing channels).
// Both subscribe to process-wide channels, so they are made once per process, however many apps it runs.
import { AsyncLocalStorage } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { instrumentSess } from '@sess/opentelemetry';

const KEEP = 10;
let made;

/** The process's telemetry: `metrics(req, res)` answers /metrics; `recent()` lists the last requests' store work. */
export function telemetry() {
  if (made) return made;
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  // Metrics only: the demo has no trace backend to send spans to.
  instrumentSess({ meterProvider, requestSpans: false, storeSpans: false });

  // The store operations of each request's session work (its load and its end-of-response write run in the
  // context sess:request's start gives), with their latency.
  const current = new AsyncLocalStorage();
  const requests = tracingChannel('sess:request');
  const stores = tracingChannel('sess:store');
  const open = new WeakMap();
  const started = new WeakMap();
  const last = [];
  requests.start.bindStore(current, (ctx) => {
    const r = { at: Date.now(), ops: [], outcome: undefined };
    open.set(ctx, r);
    return r;
  });
  const none = () => undefined;
  requests.subscribe({
    start: none,
    end: none,
    asyncStart: none,
    error: none,
    asyncEnd(ctx) {
      const r = open.get(ctx);
      if (!r) return;
      r.outcome = ctx.outcome;
      last.unshift(r);
      last.length = Math.min(last.length, KEEP);
    },
  });
  stores.subscribe({
    start(ctx) {
      started.set(ctx, { t: performance.now(), request: current.getStore() });
    },
    end: none,
    asyncStart: none,
    error: none,
    asyncEnd(ctx) {
      const s = started.get(ctx);
      if (!s?.request) return; // an operation the app called itself (logout's destroy): not part of a load or write
      s.request.ops.push({ operation: ctx.operation, ms: performance.now() - s.t, error: ctx.error?.code });
    },
  });

  made = {
    metrics: (req, res) => exporter.getMetricsRequestHandler(req, res),
    recent: () => last.map((r) => ({ ...r, ops: [...r.ops] })),
  };
  return made;
}
