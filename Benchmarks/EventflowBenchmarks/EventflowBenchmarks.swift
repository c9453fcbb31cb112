import Benchmark
import EventflowCore

/// The hot paths of an event's way through Eventflow, without I/O: parsing and validating
/// what a client sends, the delivery session's decisions, the enrichment of what is sent,
/// and the unique-users window update. Allocations per operation are deterministic, so
/// they are checked against `Thresholds/` (`make bench-check`, run in CI): a change that
/// allocates more on a hot path fails the build. Times are reported, not checked (this is
/// a shared, noisy machine). Names are plain (letters, digits, dashes): they name the files
/// in `Thresholds/`.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.mallocCountTotal, .wallClock, .throughput],
        warmupIterations: 10,
        maxDuration: .seconds(1),
        maxIterations: 2_000,
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]
    )

    let parser = IngestParser(schema: .events)
    let single = Array(#"{"id":"evt-000001","name":"checkout.completed","timestamp":1764600000,"user":{"id":"u-42","plan":"pro"},"amount":129.5}"#.utf8)
    let batch = Array((0..<100).map { #"{"id":"evt-\#($0)","name":"checkout.completed","timestamp":1764600000,"user":{"id":"u-\#($0 % 7)"},"amount":\#($0).5}"# }.joined(separator: "\n").utf8)

    Benchmark("ingest-parse-one-event") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try single.withUnsafeBytes { try parser.parse($0, format: .json) })
        }
    }

    Benchmark("ingest-parse-ndjson-batch-of-100") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try batch.withUnsafeBytes { try parser.parse($0, format: .ndjson) })
        }
    }

    let enricher = JSONEnricher(strings: ["brand": "testBrand"])
    let bodies = (0..<50).map { Array(#"{"id":"evt-\#($0)","name":"checkout.completed","timestamp":1764600000,"amount":\#($0).5}"#.utf8) }

    Benchmark("delivery-enrich-request-of-50") { benchmark in
        var output: [UInt8] = []
        output.reserveCapacity(8_192)
        for _ in benchmark.scaledIterations {
            output.removeAll(keepingCapacity: true)
            for body in bodies { body.withUnsafeBytes { enricher.enrich($0, into: &output) } }
            blackHole(output)
        }
    }

    Benchmark("delivery-session-1000-events") { benchmark in
        typealias Machine = DeliverySessionMachine<Int>
        let events = (0..<1_000).map { Machine.ReadEvent(offset: Int64($0), item: $0, bytes: 200) }
        for _ in benchmark.scaledIterations {
            var machine = Machine(
                configuration: .init(concurrency: 32, batchSize: 50), cursor: 0, firstOffset: 0, partitions: 1,
                limits: .init(events: 20_000, bytes: 64 << 20), limiter: nil)
            var pending = machine.headMoved(to: 1_000, now: 0) + machine.read(events, now: 0)
            while let action = pending.popLast() {
                if case .send(let dispatches) = action {
                    pending += machine.completed(dispatches.map(\.offset), .delivered, throttled: false, now: 0, random: 0)
                }
            }
            blackHole(machine.scheduler.committableOffset)
        }
    }

    let users = (0..<1_000).map { UserKey("user-\($0 % 300)") }

    Benchmark("unique-users-add-1000-frames") { benchmark in
        for _ in benchmark.scaledIterations {
            var windows = UniqueUserWindows(windowSeconds: 60, latenessSeconds: 5)
            for (index, user) in users.enumerated() { windows.add(user, eventTimeMs: 1_764_600_000_000 + Int64(index) * 50) }
            blackHole(windows.drainChanges())
        }
    }
}
