import ArgumentParser
import Foundation
import EventflowTarget
import Hummingbird
import Logging

/// `eventflow target`: the reference rate-limited API that `deliver` sends to.
struct Target: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the reference target: a rate-limited, idempotent stand-in for a third-party API.",
        discussion: """
            Routes: POST /deliver (one event or an array), POST /callbacks, GET /ledger and /callbacks/ledger \
            (NDJSON, one line per id), GET /ledger/summary, GET/PUT /admin/faults (change faults while running), \
            GET /metrics, GET /healthz. The limit is POST /deliver's: give either --rate and --burst (token bucket) \
            or --bucket-size, --restore-rate and --cost (leaky bucket); with neither, deliveries are unlimited. \
            POST /callbacks has its own limit (--callback-rate, --callback-burst), unlimited by default. To model \
            a third-party API whose one limit covers both, give Eventflow's delivery a share of the API's limit \
            (--target-rate) and the callbacks the rest (--callback-rate here).
            """
    )

    @Option(help: "Interface to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one and logs it).")
    var port = 9090

    @Option(help: "Token bucket of POST /deliver: requests per second (default: unlimited).")
    var rate: Double?

    @Option(help: "Token bucket of POST /deliver: largest burst of requests (default: the rate, at least 1).")
    var burst: Double?

    @Option(name: .customLong("callback-rate"), help: "Token bucket of POST /callbacks: requests per second (default: unlimited).")
    var callbackRate: Double?

    @Option(name: .customLong("callback-burst"), help: "Token bucket of POST /callbacks: largest burst (default: the callback rate, at least 1).")
    var callbackBurst: Double?

    @Option(name: .customLong("bucket-size"), help: "Leaky bucket: capacity in cost units (default: none).")
    var bucketSize: Double?

    @Option(name: .customLong("restore-rate"), help: "Leaky bucket: units drained per second (default: none).")
    var restoreRate: Double?

    @Option(help: "Leaky bucket: cost of one request (default: 1).")
    var cost: Double?

    @Option(name: .customLong("error-rate"), help: "Share of requests answered 500.")
    var errorRate = 0.0

    @Option(name: .customLong("timeout-rate"), help: "Share of requests held past the client's timeout, then answered 503.")
    var timeoutRate = 0.0

    @Option(name: .customLong("timeout-hold-ms"), help: "How long a timed-out request is held.")
    var timeoutHoldMs = 30_000.0

    @Option(name: .customLong("permanent-error-rate"), help: "Share of requests answered 422 (permanent).")
    var permanentErrorRate = 0.0

    @Option(name: .customLong("latency-ms"), help: "Added latency per request, spread ±50 %.")
    var latencyMs = 0.0

    @Option(
        name: .customLong("hostile-rate"),
        help: "Share of requests answered as a hostile peer, each way at random: 429 with Retry-After 1e16; headers then a body held for --timeout-hold-ms; a 64 MiB body; a dropped connection mid-answer (default: 0).")
    var hostileRate = 0.0

    @Option(help: "START:DURATION after start in which every request gets 503, e.g. 10s:5s (default: none).")
    var outage: String?

    @Option(help: "Seed of the fault injection's random choices.")
    var seed: UInt64 = 1

    @Option(
        name: .customLong("admin-key"),
        help: "Require this key on /admin/* as X-Api-Key or Authorization: Bearer, so that only the test run can switch faults (default: $EVENTFLOW_TARGET_ADMIN_KEY when not empty, else none).")
    var adminKey: String?

    @Option(name: .customLong("log-level"), help: "How much to log.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        if rate != nil, bucketSize != nil { throw ValidationError("give either --rate (token bucket) or --bucket-size (leaky bucket), not both") }
        if bucketSize != nil, restoreRate == nil { throw ValidationError("--bucket-size needs --restore-rate") }
        if let outage, TargetOutage(outage) == nil { throw ValidationError("--outage must look like START:DURATION, e.g. 10s:5s") }
        for (name, value) in [("--rate", rate), ("--burst", burst), ("--bucket-size", bucketSize), ("--restore-rate", restoreRate), ("--cost", cost),
            ("--callback-rate", callbackRate), ("--callback-burst", callbackBurst)]
        {
            if let value, !(value > 0 && value.isFinite) { throw ValidationError("\(name) must be a positive number") }
        }
        if adminKey == "" { throw ValidationError("--admin-key is empty: give the key, or leave the flag out") }
        if callbackBurst != nil, callbackRate == nil { throw ValidationError("--callback-burst needs --callback-rate") }
        if let problem = faults.problem { throw ValidationError("--" + problem.replacingOccurrences(of: "_", with: "-")) }
    }

    /// The faults the flags ask for.
    var faults: TargetFaults {
        var faults = TargetFaults()
        faults.errorRate = errorRate
        faults.timeoutRate = timeoutRate
        faults.timeoutHoldMs = timeoutHoldMs
        faults.permanentErrorRate = permanentErrorRate
        faults.latencyMs = latencyMs
        faults.hostileRate = hostileRate
        return faults
    }

    func run() async throws {
        bootstrapLogging(level: logLevel)
        let rateLimit: TargetRateLimit =
            if let rate { .tokenBucket(rate: rate, burst: max(1, burst ?? rate)) } else if let bucketSize, let restoreRate {
                .leakyBucket(size: bucketSize, restoreRate: restoreRate, cost: cost ?? 1)
            } else { .unlimited }
        let callbackRateLimit: TargetRateLimit = callbackRate.map { .tokenBucket(rate: $0, burst: max(1, callbackBurst ?? $0)) } ?? .unlimited
        let configuration = TargetConfiguration(
            host: host, port: port, rateLimit: rateLimit, callbackRateLimit: callbackRateLimit, faults: faults,
            outage: outage.flatMap(TargetOutage.init), seed: seed,
            adminKey: adminKey ?? ProcessInfo.processInfo.environment["EVENTFLOW_TARGET_ADMIN_KEY"].flatMap { $0.isEmpty ? nil : $0 })
        let logger = Logger(label: "eventflow-target")
        logger.info("target starting", metadata: ["address": "\(host):\(port)", "limit": "\(rateLimit)", "callback_limit": "\(callbackRateLimit)"])
        try await TargetApplication.build(configuration: configuration, logger: logger).runService()
        logger.info("target stopped")
    }
}
