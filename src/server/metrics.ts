/**
 * Prometheus metrics of one server process, rendered in the text exposition format
 * (version 0.0.4): counters of events and requests, a histogram of ingest latency, and the
 * number of open streams. No dependency: the format is a few lines of text.
 */

/** Upper bounds of the ingest latency buckets, seconds. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const;

export class Metrics {
  eventsIngested = 0;
  eventsDuplicate = 0;
  streamClients = 0;
  private readonly requests = new Map<string, number>();
  private readonly buckets = LATENCY_BUCKETS.map(() => 0);
  private latencyCount = 0;
  private latencySum = 0;
  private readonly startedAt = Date.now();

  request(method: string, route: string, status: number): void {
    const key = `method="${method}",route="${escapeLabel(route)}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  ingestLatency(seconds: number): void {
    this.latencyCount += 1;
    this.latencySum += seconds;
    LATENCY_BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.buckets[i]! += 1;
    });
  }

  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    metric('berth_events_ingested_total', 'counter', 'Events stored through POST /v1/events.');
    lines.push(`berth_events_ingested_total ${this.eventsIngested}`);
    metric(
      'berth_events_duplicate_total',
      'counter',
      'Events received that were already stored (replays).',
    );
    lines.push(`berth_events_duplicate_total ${this.eventsDuplicate}`);
    metric('berth_http_requests_total', 'counter', 'HTTP requests answered, by route and status.');
    for (const [labels, n] of [...this.requests].sort()) {
      lines.push(`berth_http_requests_total{${labels}} ${n}`);
    }
    metric(
      'berth_ingest_duration_seconds',
      'histogram',
      'Time to answer POST /v1/events, seconds.',
    );
    LATENCY_BUCKETS.forEach((le, i) => {
      lines.push(`berth_ingest_duration_seconds_bucket{le="${le}"} ${this.buckets[i]}`);
    });
    lines.push(`berth_ingest_duration_seconds_bucket{le="+Inf"} ${this.latencyCount}`);
    lines.push(`berth_ingest_duration_seconds_sum ${round(this.latencySum)}`);
    lines.push(`berth_ingest_duration_seconds_count ${this.latencyCount}`);
    metric('berth_stream_clients', 'gauge', 'Open GET /v1/stream connections.');
    lines.push(`berth_stream_clients ${this.streamClients}`);
    metric('berth_start_time_seconds', 'gauge', 'When this server started, unix seconds.');
    lines.push(`berth_start_time_seconds ${Math.floor(this.startedAt / 1000)}`);
    return `${lines.join('\n')}\n`;
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
