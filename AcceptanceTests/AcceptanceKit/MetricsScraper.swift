import Foundation
import Synchronization

/// One scrape of one endpoint.
public struct Scrape: Sendable {
    /// Which endpoint: `eventflow` or `target`.
    public var job: String
    public var timestampMs: Int64
    public var samples: [PrometheusSample]
}

/// Reads the system's (and the target's) `/metrics` once a second while the load runs,
/// and keeps every sample with its time.
public final class MetricsScraper: Sendable {
    public let endpoints: [(job: String, probe: HTTPProbe)]
    private let scrapes = Mutex<[Scrape]>([])
    private let familyTypes = Mutex<[String: String]>([:])
    private let failures = Mutex(0)

    public init(endpoints: [(job: String, probe: HTTPProbe)]) {
        self.endpoints = endpoints
    }

    /// Scrapes every endpoint once; samples are stamped with the time the request left.
    public func scrapeOnce() async {
        for (job, probe) in endpoints {
            do {
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                let response = try await probe.get("/metrics")
                let samples = try PrometheusText.parse(response.text)
                let types = PrometheusText.types(response.text)
                scrapes.withLock { $0.append(Scrape(job: job, timestampMs: now, samples: samples)) }
                familyTypes.withLock { $0.merge(types) { current, _ in current } }
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
    }

    /// Scrapes once a second until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            await scrapeOnce()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    public var all: [Scrape] { scrapes.withLock { $0 } }
    public var types: [String: String] { familyTypes.withLock { $0 } }
    public var failedScrapes: Int { failures.withLock { $0 } }

    /// The newest value of a series from `job`.
    public func latest(_ job: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
        scrapes.withLock { scrapes in scrapes.last { $0.job == job }?.samples.value(name, labels) }
    }

    /// The sum over every series of `name` in the newest scrape of `job` whose labels include `labels`.
    public func latestSum(_ job: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
        scrapes.withLock { scrapes in
            guard let scrape = scrapes.last(where: { $0.job == job }) else { return nil }
            let matching = scrape.samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
            return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
        }
    }
}
