import { metrics as otel } from "@opentelemetry/api";
import type { Hono } from "hono";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { ChatError } from "../core/errors.ts";
import type { HubObserver, HubStats } from "../core/hub.ts";

/** Where the figures come from, read at each scrape (and each OpenTelemetry export). */
export interface MetricsSources {
  /** The hub's counters. */
  readonly stats: () => HubStats;
  /** Open WebSocket connections of this isolate. */
  readonly connections: () => number;
  /** Refusals (errors sent to clients) by code, since start. */
  readonly refusals: ReadonlyMap<string, number>;
}

/** Store commit latency buckets, in milliseconds. */
const COMMIT_BUCKETS_MS = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500];

/**
 * The chat's figures for operators: a Prometheus registry (prom-client) served at `/metrics`,
 * and the same figures as OpenTelemetry instruments, which Deno's built-in exporter
 * (`OTEL_DENO=true`) sends with its HTTP spans. Every name starts with `chat_`.
 */
export class ChatMetrics implements HubObserver {
  /** The Prometheus registry (exposed so that embedders can add their own). */
  readonly registry = new Registry();
  readonly #commit: Histogram;
  readonly #otelCommit = otel.getMeter("chat").createHistogram("chat_store_commit_ms", {
    description: "How long the store took to commit a message",
    unit: "ms",
  });

  /** Registers every figure, read from `sources`. */
  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: () => number) => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
      otel.getMeter("chat").createObservableGauge(name, { description: help })
        .addCallback((result) => result.observe(read()));
    };
    const counter = (name: string, help: string, read: () => number) => {
      new Counter({
        name: `${name}_total`,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
      otel.getMeter("chat").createObservableCounter(name, { description: help })
        .addCallback((result) => result.observe(read()));
    };
    gauge("chat_connections", "Open WebSocket connections of this isolate", sources.connections);
    gauge("chat_members", "Members connected on every node", () => sources.stats().members);
    gauge(
      "chat_local_members",
      "Members connected to this isolate",
      () => sources.stats().localMembers,
    );
    gauge(
      "chat_rooms",
      "Rooms with at least one member on some node",
      () => sources.stats().activeRooms,
    );
    gauge(
      "chat_nodes",
      "Nodes (isolates, processes, instances) this one hears from, itself included",
      () => sources.stats().knownNodes.length + 1,
    );
    counter(
      "chat_messages_stored",
      "Messages this isolate stored",
      () => sources.stats().messagesStored,
    );
    counter(
      "chat_deliveries",
      "Events handed to members' connections",
      () => sources.stats().deliveries,
    );
    counter(
      "chat_bus_messages_received",
      "Stored events received from other nodes",
      () => sources.stats().roomMessagesReceived,
    );
    counter(
      "chat_bus_gaps_repaired",
      "Reads of the store that filled a gap in a room's feed",
      () => sources.stats().gapRepairs,
    );
    counter(
      "chat_bus_messages_repaired",
      "Events delivered by those reads",
      () => sources.stats().messagesRepaired,
    );
    counter(
      "chat_presence_resyncs",
      "Full presence resyncs after lost presence updates",
      () => sources.stats().presenceResyncs,
    );
    const refusals = new Counter({
      name: "chat_refusals_total",
      help: "Errors sent to clients, by code",
      labelNames: ["code"],
      registers,
      collect() {
        this.reset();
        for (const [code, n] of sources.refusals) this.inc({ code }, n);
      },
    });
    void refusals;
    otel.getMeter("chat").createObservableCounter("chat_refusals", {
      description: "Errors sent to clients, by code",
    }).addCallback((result) => {
      for (const [code, n] of sources.refusals) result.observe(n, { code });
    });
    this.#commit = new Histogram({
      name: "chat_store_commit_ms",
      help: "How long the store took to commit a message, in milliseconds",
      buckets: COMMIT_BUCKETS_MS,
      registers,
    });
  }

  /** Records one commit's latency (the hub calls this). */
  committed(ms: number): void {
    this.#commit.observe(ms);
    this.#otelCommit.record(ms);
  }
}

/**
 * `GET /metrics` in the Prometheus text format. With `token`, a request needs
 * `Authorization: Bearer <token>` (401 otherwise).
 */
export function mountMetrics(app: Hono, metrics: ChatMetrics, token: string): void {
  app.get("/metrics", async (c) => {
    if (token && c.req.header("authorization") !== `Bearer ${token}`) {
      throw new ChatError("unauthorized", "the metrics need 'Authorization: Bearer <token>'");
    }
    const body = await metrics.registry.metrics();
    return c.body(body, 200, { "content-type": metrics.registry.contentType });
  });
}
