// GET /metrics: the node's counters through swift-metrics, exported as Prometheus text by
// swift-prometheus. Each node has a registry of its own (no global MetricsSystem bootstrap, so an
// application embedding the fleet keeps its own metrics backend).

import CoreMetrics

import Prometheus

final class FleetMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    let streamsOwned: CoreMetrics.Gauge
    let claims: CoreMetrics.Counter
    let takeovers: CoreMetrics.Counter
    let joins: CoreMetrics.Counter
    let reconnects: CoreMetrics.Counter
    let drops: CoreMetrics.Counter
    let leaseLosses: CoreMetrics.Counter
    let renewalsOK: CoreMetrics.Counter
    let renewalsFailed: CoreMetrics.Counter
    let renewalLatency: CoreMetrics.Timer
    let webhooksStored: CoreMetrics.Counter
    let webhooksDuplicate: CoreMetrics.Counter
    let webhooksUnavailable: CoreMetrics.Counter
    let eventsRouted: CoreMetrics.Counter
    let rowsWritten: CoreMetrics.Counter
    let rowWriteFailures: CoreMetrics.Counter
    let streamsEnded: CoreMetrics.Counter
    let outageConfirmed: CoreMetrics.Counter
    let outageUnconfirmed: CoreMetrics.Counter

    init() {
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000].map { .milliseconds($0) }
        streamsOwned = CoreMetrics.Gauge(label: "rtms_fleet_streams_owned", factory: f)
        claims = CoreMetrics.Counter(label: "rtms_fleet_claims_total", factory: f)
        takeovers = CoreMetrics.Counter(label: "rtms_fleet_takeovers_total", factory: f)
        joins = CoreMetrics.Counter(label: "rtms_fleet_joins_total", factory: f)
        reconnects = CoreMetrics.Counter(label: "rtms_fleet_reconnects_total", factory: f)
        drops = CoreMetrics.Counter(label: "rtms_fleet_drops_total", factory: f)
        leaseLosses = CoreMetrics.Counter(label: "rtms_fleet_lease_losses_total", factory: f)
        renewalsOK = CoreMetrics.Counter(label: "rtms_fleet_lease_renewals_total", dimensions: [("result", "ok")], factory: f)
        renewalsFailed = CoreMetrics.Counter(label: "rtms_fleet_lease_renewals_total", dimensions: [("result", "failed")], factory: f)
        renewalLatency = CoreMetrics.Timer(label: "rtms_fleet_lease_renewal_seconds", factory: f)
        webhooksStored = CoreMetrics.Counter(label: "rtms_fleet_webhooks_total", dimensions: [("result", "stored")], factory: f)
        webhooksDuplicate = CoreMetrics.Counter(label: "rtms_fleet_webhooks_total", dimensions: [("result", "duplicate")], factory: f)
        webhooksUnavailable = CoreMetrics.Counter(label: "rtms_fleet_webhooks_total", dimensions: [("result", "unavailable")], factory: f)
        eventsRouted = CoreMetrics.Counter(label: "rtms_fleet_events_routed_total", factory: f)
        rowsWritten = CoreMetrics.Counter(label: "rtms_fleet_stream_items_written_total", factory: f)
        rowWriteFailures = CoreMetrics.Counter(label: "rtms_fleet_stream_item_write_failures_total", factory: f)
        streamsEnded = CoreMetrics.Counter(label: "rtms_fleet_streams_ended_total", factory: f)
        // After a failed renewal while holding streams: did every live peer confirm the database
        // is down for it too (the streams are kept), or not (they are left at the deadline)?
        outageConfirmed = CoreMetrics.Counter(label: "rtms_fleet_outage_checks_total", dimensions: [("result", "confirmed")], factory: f)
        outageUnconfirmed = CoreMetrics.Counter(label: "rtms_fleet_outage_checks_total", dimensions: [("result", "unconfirmed")], factory: f)
    }

    /// The Prometheus text exposition (version 0.0.4).
    func text() -> String { registry.emitToString() }
}
