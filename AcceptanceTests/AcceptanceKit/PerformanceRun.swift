import EventflowCore
import Foundation
import Histogram

/// How to run one performance test.
public struct PerformanceOptions: Sendable {
    public var profile: LoadProfile
    /// Multiplies every stage's duration (e.g. 0.1 for CI).
    public var durationScale: Double
    /// The peak to multiply, instead of the profile's (e.g. measured by the system).
    public var peak: Double?
    public var seed: UInt64
    /// The folder under which `<profile>-<UTC time>/` is written.
    public var resultsBase: String
    public var systemURL: String
    public var targetURL: String
    /// Thresholds checked and reported but left out of the verdict.
    public var reportOnly: Set<String>

    public init(
        profile: LoadProfile, durationScale: Double, peak: Double?, seed: UInt64, resultsBase: String, systemURL: String, targetURL: String,
        reportOnly: Set<String> = []
    ) {
        self.profile = profile
        self.durationScale = durationScale
        self.peak = peak
        self.seed = seed
        self.resultsBase = resultsBase
        self.systemURL = systemURL
        self.targetURL = targetURL
        self.reportOnly = reportOnly
    }
}

/// What a performance run concluded.
public struct PerformanceOutcome: Sendable {
    public var passed: Bool
    public var directory: String
    public var thresholds: [ThresholdResult]
    public var figures: [String: Double]
}

/// Runs a load profile against a system: load, drain, verify, write the results folder.
public enum PerformanceRun {
    public static func run(_ options: PerformanceOptions, log: @escaping @Sendable (String) -> Void) async throws -> PerformanceOutcome {
        let profile = options.profile
        let schedule = profile.schedule(peak: options.peak, durationScale: options.durationScale)
        let started = Date()
        let run = RunIdentity()
        let runID = "run\(run.tag)s\(options.seed)"
        let directory = try ResultsWriter.makeRunDirectory(base: options.resultsBase, profile: profile.name, started: started)
        let system = HTTPProbe(baseURL: options.systemURL)
        let target = HTTPProbe(baseURL: options.targetURL, timeout: .seconds(120))
        let scraper = MetricsScraper(endpoints: [("eventflow", system), ("target", target)])
        let scraping = Task { await scraper.run() }
        log(
            "profile \(profile.name): \(String(format: "%.0f", schedule.totalEvents)) events over \(String(format: "%.1f", schedule.duration)) s, "
                + "peak rate \(String(format: "%.0f", schedule.stages.map(\.rate).max() ?? 0)) events/s, \(profile.connections) connections, seed \(options.seed)")

        let generator = LoadGenerator(
            configuration: .init(baseURL: system.baseURL, connections: profile.connections), profile: profile, schedule: schedule, seed: options.seed,
            runID: runID, frameTimeShiftSeconds: Int(started.timeIntervalSince1970) - Int(run.pastEpochSeconds))
        let load = await generator.run { second in
            let backlog = scraper.latestSum("eventflow", "eventflow_log_backlog_events") ?? 0
            log(
                String(
                    format: "[%4ds] offered %7.0f ev/s  sent %7.0f  achieved %7.0f ev/s  p99 %8.1f ms  errors %4d  backlog %8.0f", second.second,
                    schedule.events(until: Double(second.second)) - schedule.events(until: Double(second.second - 1)), Double(second.offeredEvents),
                    Double(second.acknowledgedEvents), second.p99Millis, second.errors, backlog))
        }
        let loadEnded = ContinuousClock.now
        log("load done; waiting for the backlog to drain (limit \(Int(profile.drainLimitSeconds)) s)")
        let drained = await waitForDrain(scraper: scraper, limit: profile.drainLimitSeconds)
        let drainSeconds = (ContinuousClock.now - loadEnded).seconds
        scraping.cancel()
        _ = await scraping.value
        await scraper.scrapeOnce()

        let verdict = try await deliveryVerdict(ledger: generator.ledger, factory: generator.factory, target: target)
        var figures = figures(load: load, verdict: verdict, scraper: scraper, drainSeconds: drainSeconds)
        figures["drained"] = drained ? 1 : 0
        let oracle = ProcessorOracle(ledger: generator.ledger, factory: generator.factory, startedAtSeconds: load.startedAtSeconds)
        if oracle.checks > 0 {
            let mismatches = try await oracle.check(system)
            figures["oracle_checks"] = Double(oracle.checks)
            figures["oracle_mismatches"] = Double(mismatches.count)
            log("processor outputs: \(oracle.checks) figures checked against what was sent, \(mismatches.count) mismatches")
            for mismatch in mismatches.prefix(10) { log("  mismatch: \(mismatch)") }
        }
        figures["generator_memory_mib"] = Double(generator.ledger.footprintBytes + load.latency.estimatedFootprintInBytes) / 1_048_576
        let thresholds = profile.thresholds.map { figure, rule in
            let value = figures[figure]
            return ThresholdResult(
                figure: figure, rule: rule.description, value: value, passed: value.map(rule.passes) ?? false, reportOnly: options.reportOnly.contains(figure))
        }
        let passed = thresholds.allSatisfy(\.holds)
        try writeResults(
            directory: directory, options: options, runID: runID, started: started, schedule: schedule, load: load, scraper: scraper,
            figures: figures, thresholds: thresholds, passed: passed)
        return PerformanceOutcome(passed: passed, directory: directory, thresholds: thresholds, figures: figures)
    }

    /// Waits until no processor has a backlog and no delivery is in flight (as the scraper,
    /// still running, sees it); false when the limit passed first.
    static func waitForDrain(scraper: MetricsScraper, limit: Double) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(limit)
        let scrapesBefore = scraper.all.count
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(250))
            guard scraper.all.count > scrapesBefore else { continue }
            let backlog = scraper.latestSum("eventflow", "eventflow_log_backlog_events") ?? 0
            let inFlight = scraper.latest("eventflow", "eventflow_delivery_requests_in_flight") ?? 0
            if backlog == 0, inFlight == 0 { return true }
        }
        return false
    }

    /// Compares what the client sent on stream `events` with the target's ledger.
    static func deliveryVerdict(ledger: ClientLedger, factory: EventFactory, target: HTTPProbe) async throws -> DeliveryVerdict {
        let (indices, outcomes, offsets) = ledger.events(of: "events")
        // Event index → position in `indices`, dense: 4 bytes per event of the run.
        var slotOfIndex = [Int32](repeating: -1, count: (indices.last ?? -1) + 1)
        for (slot, index) in indices.enumerated() { slotOfIndex[index] = Int32(slot) }
        var delivered = TargetRecords(count: indices.count)
        var unknown = 0
        try await target.forEachLine("/ledger") { line in
            guard let id = field(line, "id"), let index = factory.index(of: id) else { return }
            let deliveredAt = field(line, "first_delivered_at_ms").flatMap { Int64($0) }
            guard index < slotOfIndex.count, slotOfIndex[index] >= 0 else {
                if deliveredAt != nil { unknown += 1 }
                return
            }
            let slot = Int(slotOfIndex[index])
            delivered.firstDeliveredAtMs[slot] = deliveredAt ?? -1
            delivered.deliveries[slot] = field(line, "deliveries").flatMap { UInt32($0) } ?? 0
        }
        return DeliveryVerdict.compute(outcomes: outcomes, offsets: offsets, delivered: delivered, unknownIDs: unknown)
    }

    /// The raw value of `"name":` in one ledger line (strings without quotes).
    static func field(_ line: Substring, _ name: String) -> Substring? {
        guard let range = line.range(of: "\"\(name)\":") else { return nil }
        var value = line[range.upperBound...]
        if value.first == "\"" {
            value = value.dropFirst()
            return value.prefix { $0 != "\"" }
        }
        return value.prefix { $0 != "," && $0 != "}" }
    }

    static func figures(load: LoadResult, verdict: DeliveryVerdict, scraper: MetricsScraper, drainSeconds: Double) -> [String: Double] {
        let duration = max(load.durationSeconds, 0.001)
        let system = scraper.all.filter { $0.job == "eventflow" }
        let rss = system.compactMap { $0.samples.value("process_resident_memory_bytes") }
        let cpu = CPUCost(samples: system.compactMap { scrape in scrape.samples.value("process_cpu_seconds_total").map { (scrape.timestampMs, $0) } })
        var figures: [String: Double] = [
            "attempted": Double(verdict.attempted), "acknowledged": Double(verdict.acknowledged), "delivered": Double(verdict.delivered),
            "lost": Double(verdict.lost), "duplicated": Double(verdict.duplicated), "unexpected": Double(verdict.unexpected),
            "recovered": Double(verdict.recovered), "max_reorder_seconds": verdict.maxReorderSeconds,
            "ingest_p50_ms": Double(load.latency.valueAtPercentile(50)) / 1000, "ingest_p99_ms": Double(load.latency.valueAtPercentile(99)) / 1000,
            "ingest_p999_ms": Double(load.latency.valueAtPercentile(99.9)) / 1000, "ingest_max_ms": Double(load.latency.max) / 1000,
            "offered_events_per_second": Double(load.offeredEvents) / duration,
            "achieved_events_per_second": Double(load.acknowledgedEvents) / duration,
            "achieved_rate_ratio": load.offeredEvents == 0 ? 0 : Double(load.acknowledgedEvents) / Double(load.offeredEvents),
            "drain_seconds": drainSeconds, "generator_lag_p99_ms": Double(load.lag.valueAtPercentile(99)) / 1000,
            "late_sends": Double(load.lateSends), "requests": Double(load.requests),
            "rejected_requests": Double(load.statusCounts.filter { $0.key != 202 }.values.reduce(0, +)),
            "unanswered_requests": Double(load.unanswered),
            "target_throttled": scraper.latest("target", "eventflow_target_throttled_total", ["route": "deliver"]) ?? 0,
            "target_callbacks_throttled": scraper.latest("target", "eventflow_target_throttled_total", ["route": "callbacks"]) ?? 0,
            "system_peak_rss_mib": (rss.max() ?? 0) / 1_048_576,
            "failed_scrapes": Double(scraper.failedScrapes),
        ]
        if let cpu {
            figures["system_cpu_seconds"] = cpu.cpuSeconds
            figures["system_cpu_cores"] = cpu.cores
            figures["cpu_us_per_event"] = cpu.microsecondsPerEvent(load.acknowledgedEvents)
        }
        return figures
    }

    static func writeResults(
        directory: String, options: PerformanceOptions, runID: String, started: Date, schedule: RateSchedule, load: LoadResult,
        scraper: MetricsScraper, figures: [String: Double], thresholds: [ThresholdResult], passed: Bool
    ) throws {
        let startMs = Int64(started.timeIntervalSince1970 * 1000)
        let measured = [
            MeasuredSeries(name: "eventflow_loadgen_offered_events_per_second", help: "Events the generator offered in each second", points: load.seconds.map { (startMs + Int64($0.second) * 1000, Double($0.offeredEvents)) }),
            MeasuredSeries(name: "eventflow_loadgen_acknowledged_events_per_second", help: "Events acknowledged (202) in each second", points: load.seconds.map { (startMs + Int64($0.second) * 1000, Double($0.acknowledgedEvents)) }),
            MeasuredSeries(name: "eventflow_loadgen_latency_p50_seconds", help: "Median ingest latency from the intended send time, per second", points: load.seconds.map { (startMs + Int64($0.second) * 1000, $0.p50Millis / 1000) }),
            MeasuredSeries(name: "eventflow_loadgen_latency_p99_seconds", help: "99th percentile ingest latency from the intended send time, per second", points: load.seconds.map { (startMs + Int64($0.second) * 1000, $0.p99Millis / 1000) }),
            MeasuredSeries(name: "eventflow_loadgen_errors", help: "Requests without a 202 in each second", points: load.seconds.map { (startMs + Int64($0.second) * 1000, Double($0.errors)) }),
        ]
        try ResultsWriter.writeMetrics(scrapes: scraper.all, types: scraper.types, measured: measured, to: directory)
        let summary: [String: Any] = [
            "profile": options.profile.name, "run_id": runID, "seed": options.seed, "started_at": ISO8601DateFormatter().string(from: started),
            "duration_scale": options.durationScale, "peak_events_per_second": options.peak ?? options.profile.peakEventsPerSecond,
            "multiplier": options.profile.multiplier, "schedule_seconds": schedule.duration, "verdict": passed ? "PASS" : "FAIL",
            "figures": figures,
            "thresholds": thresholds.map { ["figure": $0.figure, "rule": $0.rule, "value": $0.value ?? NSNull(), "passed": $0.passed, "report_only": $0.reportOnly] as [String: Any] },
        ]
        try ResultsWriter.writeSummary(summary, to: directory)
        try ResultsWriter.writeJUnit(
            suite: "performance-test.\(options.profile.name)",
            cases: thresholds.map(\.junitCase),
            seconds: schedule.duration, to: directory)
        try report(options: options, schedule: schedule, load: load, scraper: scraper, figures: figures, thresholds: thresholds, passed: passed, startMs: startMs)
            .write(to: directory)
    }

    static func report(
        options: PerformanceOptions, schedule: RateSchedule, load: LoadResult, scraper: MetricsScraper, figures: [String: Double],
        thresholds: [ThresholdResult], passed: Bool, startMs: Int64
    ) -> HTMLReport {
        let system = scraper.all.filter { $0.job == "eventflow" }
        func elapsed(_ scrape: Scrape) -> Double { Double(scrape.timestampMs - startMs) / 1000 }
        var cpu: [(x: Double, y: Double)] = []
        for (previous, next) in zip(system, system.dropFirst()) {
            if let before = previous.samples.value("process_cpu_seconds_total"), let after = next.samples.value("process_cpu_seconds_total") {
                cpu.append((elapsed(next), max(0, after - before) / max(0.001, Double(next.timestampMs - previous.timestampMs) / 1000) * 100))
            }
        }
        let charts = [
            HTMLReport.Chart(title: "Offered vs achieved rate", unit: "events/s", series: [
                .init(name: "offered (schedule)", color: "#8c8c8c", points: stride(from: 0.0, through: schedule.duration, by: max(schedule.duration / 200, 0.1)).map { ($0, schedule.rate(at: $0)) }),
                .init(name: "sent", color: "#0969da", points: load.seconds.map { (Double($0.second), Double($0.offeredEvents)) }),
                .init(name: "achieved (202)", color: "#1a7f37", points: load.seconds.map { (Double($0.second), Double($0.acknowledgedEvents)) }),
            ]),
            HTMLReport.Chart(title: "Ingest latency from the intended send time", unit: "ms", series: [
                .init(name: "p50", color: "#0969da", points: load.seconds.map { (Double($0.second), $0.p50Millis) }),
                .init(name: "p99", color: "#cf222e", points: load.seconds.map { (Double($0.second), $0.p99Millis) }),
            ]),
            HTMLReport.Chart(title: "Backlog of the processors", unit: "events", series: [
                .init(name: "backlog", color: "#8250df", points: system.map { (elapsed($0), $0.samples.filter { $0.name == "eventflow_log_backlog_events" }.reduce(0) { $0 + $1.value }) }),
            ]),
            HTMLReport.Chart(title: "CPU of the system", unit: "% of one core", series: [.init(name: "eventflow", color: "#bf8700", points: cpu)]),
            HTMLReport.Chart(title: "Resident memory of the system", unit: "MiB", series: [
                .init(name: "eventflow", color: "#1a7f37", points: system.compactMap { scrape in scrape.samples.value("process_resident_memory_bytes").map { (elapsed(scrape), $0 / 1_048_576) } }),
            ]),
        ]
        let shown = ["attempted", "acknowledged", "delivered", "lost", "duplicated", "unexpected", "recovered", "max_reorder_seconds", "ingest_p50_ms", "ingest_p99_ms", "ingest_p999_ms", "offered_events_per_second", "achieved_events_per_second", "achieved_rate_ratio", "drain_seconds", "generator_lag_p99_ms", "late_sends", "target_throttled", "cpu_us_per_event", "system_cpu_cores", "system_peak_rss_mib"]
        return HTMLReport(
            title: "Eventflow performance: \(options.profile.name)",
            passed: passed,
            subtitle: "\(String(format: "%.0f", schedule.totalEvents)) events over \(String(format: "%.1f", schedule.duration)) s at up to \(String(format: "%.0f", schedule.stages.map(\.rate).max() ?? 0)) events/s (peak \(String(format: "%.0f", options.peak ?? options.profile.peakEventsPerSecond)) × \(options.profile.multiplier)), seed \(options.seed), duration scale \(options.durationScale)",
            thresholds: thresholds,
            figures: shown.compactMap { name in figures[name].map { (name, HTMLReport.number($0)) } },
            charts: charts)
    }
}
