// swift-tools-version: 6.2
import PackageDescription

/// Swift 6 language mode (strict concurrency) is the tools version's default; these add
/// explicit `any` for existentials and imports that are internal unless marked `public`.
let upcomingFeatures: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "eventflow",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "eventflow", targets: ["eventflow"]),
        .executable(name: "smoke-test", targets: ["smoke-test"]),
        .executable(name: "performance-test", targets: ["performance-test"]),
        .executable(name: "behaviour-test", targets: ["behaviour-test"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(
            name: "EventflowCore",
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "EventflowMetrics",
            dependencies: [.product(name: "Prometheus", package: "swift-prometheus")],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "EventflowLog",
            dependencies: [
                "EventflowCore",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "EventflowServer",
            dependencies: [
                "EventflowCore",
                "EventflowLog",
                "EventflowMetrics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "EventflowTarget",
            dependencies: [
                "EventflowCore",
                "EventflowMetrics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .executableTarget(
            name: "eventflow",
            dependencies: [
                "EventflowServer",
                "EventflowTarget",
                "EventflowCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "AcceptanceKit",
            dependencies: [
                "EventflowCore",
                "EventflowLog",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "AcceptanceTests/AcceptanceKit",
            swiftSettings: upcomingFeatures
        ),
        .executableTarget(
            name: "smoke-test",
            dependencies: [
                "AcceptanceKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "AcceptanceTests/smoke-test",
            swiftSettings: upcomingFeatures
        ),
        .executableTarget(
            name: "performance-test",
            dependencies: [
                "AcceptanceKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "AcceptanceTests/performance-test",
            swiftSettings: upcomingFeatures
        ),
        .executableTarget(
            name: "behaviour-test",
            dependencies: [
                "AcceptanceKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "AcceptanceTests/behaviour-test",
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "EventflowFuzzTargets",
            dependencies: ["EventflowCore"],
            path: "Fuzz/CoreTargets",
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "AcceptanceKitFuzzTargets",
            dependencies: ["AcceptanceKit", "EventflowCore"],
            path: "Fuzz/AcceptanceTargets",
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "EventflowTesting",
            dependencies: [
                "EventflowCore",
                "EventflowLog",
                "EventflowServer",
                "EventflowTarget",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/EventflowTesting",
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "EventflowCoreTests",
            dependencies: ["EventflowCore", "EventflowTesting"],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "AcceptanceKitTests",
            dependencies: [
                "AcceptanceKit",
                "EventflowCore",
                "EventflowTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "EventflowTargetTests",
            dependencies: [
                "EventflowTarget",
                "EventflowTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "EventflowFuzzTests",
            dependencies: ["EventflowFuzzTargets", "AcceptanceKitFuzzTargets"],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "EventflowLogTests",
            dependencies: [
                "EventflowLog", "EventflowCore", "EventflowTesting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "EventflowServerTests",
            dependencies: [
                "EventflowServer",
                "EventflowLog",
                "EventflowCore",
                "EventflowTarget",
                "EventflowTesting",
                "AcceptanceKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: upcomingFeatures
        ),
        // Micro-benchmarks of the hot paths; allocations per operation are checked against
        // Thresholds/ by `make bench-check` (swift package benchmark thresholds check).
        .executableTarget(
            name: "EventflowBenchmarks",
            dependencies: [
                "EventflowCore",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/EventflowBenchmarks",
            swiftSettings: upcomingFeatures,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
