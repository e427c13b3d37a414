// swift-tools-version:6.1
// OpenRTMS: an open client core for Zoom Realtime Media Streams.
import PackageDescription

let nio: PackageDescription.Package.Dependency = .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2")

let package = Package(
    name: "OpenRTMS",
    products: [
        // The C ABI. Shipped as librtms.so by scripts/build-lib.sh (release, -static-stdlib, exports.map).
        .library(name: "OpenRTMS", type: .dynamic, targets: ["RTMSCABI"]),
        // The Swift API (docs/swift.md): `import OpenRTMSKit`.
        .library(name: "OpenRTMSKit", targets: ["OpenRTMSKit"]),
        .executable(name: "rtms", targets: ["rtms"]),
        .executable(name: "rtms-sim", targets: ["rtms-sim"]),
    ],
    dependencies: [
        nio,
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-extras/swift-extras-base64.git", from: "1.2.0"),
        // Only RTMSFleet (and through it the rtms command) uses PostgreSQL.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // Only RTMSFleet: GET /metrics of `rtms serve`.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Layer 1: the wire codec. Pure: bytes in, values out. CBase64: its vector base64 decoder.
        .target(name: "CBase64"),
        .target(
            name: "RTMSProtocol",
            dependencies: [
                "CBase64",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
            ]),
        // Layer 2: value-type state machines (handshake, keep-alive, leave). No sockets.
        .target(name: "RTMSSession", dependencies: ["RTMSProtocol"]),
        // Layer 3: SwiftNIO WebSocket transport (ws, wss, HTTP CONNECT proxy). It reports connection
        // failures and ends in the session's types (TransportFailure, CloseInfo): one type a concept.
        .target(
            name: "RTMSTransport",
            dependencies: [
                "RTMSProtocol", "RTMSSession",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
            ]),
        // Layer 4: the client engine: sessions + transport + bounded event queue + wake fd.
        .target(
            name: "RTMSClient",
            dependencies: [
                "RTMSProtocol", "RTMSSession", "RTMSTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Layer 5: webhook intake: HTTP(S) server, Zoom signature check, dedupe, routing to live streams.
        .target(
            name: "RTMSWebhook",
            dependencies: [
                "RTMSClient", "RTMSProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // The main job: streams to files (WAV, WebVTT, JSON lines, H.264/JPEG, summary.json).
        .target(name: "RTMSRecord", dependencies: ["RTMSClient", "RTMSProtocol", "RTMSSession"]),
        // The live view (`rtms record --live`, `rtms serve --live`, `rtms demo`): a page and its
        // Server-Sent Events on the webhook port, fed by the recorder's events.
        .target(
            name: "RTMSLive",
            dependencies: [
                "RTMSClient", "RTMSProtocol", "RTMSSession", "RTMSWebhook",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
        // A fleet of `rtms serve` nodes on PostgreSQL: durable intake, one owner per stream (leases), takeover.
        .target(
            name: "RTMSFleet",
            dependencies: [
                "RTMSClient", "RTMSProtocol", "RTMSSession", "RTMSWebhook",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                // Asking a peer node's /healthz (the database-outage rule).
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Layer 6: the C ABI (include/*.h implemented with @c @implementation).
        .target(
            name: "OpenRTMSKit",
            dependencies: [
                "RTMSClient", "RTMSProtocol", "RTMSSession", "RTMSWebhook",
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .target(name: "CRTMS"),
        .target(
            name: "RTMSCABI",
            dependencies: [
                "CRTMS", "RTMSClient", "RTMSWebhook", "RTMSProtocol", "RTMSSession", "RTMSTransport", "RTMSFleet",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ]),
        // Zoom's side, for tests, demos and benchmarks.
        .target(
            name: "RTMSSimulator",
            dependencies: [
                "RTMSProtocol", "RTMSSession", "RTMSTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "RTMSSimCommand",
            dependencies: [
                "RTMSSimulator", "RTMSProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "rtms-sim",
            dependencies: [
                "RTMSSimCommand",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "rtms",
            dependencies: [
                "RTMSClient", "RTMSSimulator", "RTMSSimCommand", "RTMSProtocol", "RTMSSession", "RTMSWebhook", "RTMSRecord", "RTMSFleet",
                "RTMSLive", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // What several test targets share (spawning children that inherit no descriptors); a
        // library target, not a test target, so tests can import it.
        .target(name: "RTMSTestSupport", path: "Tests/RTMSTestSupport"),
        .testTarget(name: "RTMSProtocolTests", dependencies: ["RTMSProtocol"], exclude: ["Fixtures"]),
        .testTarget(
            name: "RTMSCABITests",
            dependencies: [
                "RTMSCABI", "CRTMS", "RTMSSimulator", "RTMSProtocol", "RTMSClient",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .testTarget(name: "RTMSSessionTests", dependencies: ["RTMSSession", "RTMSProtocol"]),
        .testTarget(
            name: "RTMSLiveTests",
            dependencies: [
                "RTMSLive", "RTMSWebhook", "RTMSClient", "RTMSProtocol", "RTMSSession",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .testTarget(name: "OpenRTMSKitTests", dependencies: ["OpenRTMSKit", "RTMSSimulator"]),
        .testTarget(
            name: "RTMSFleetTests",
            dependencies: [
                "RTMSFleet", "RTMSSimulator", "RTMSProtocol", "RTMSClient", "RTMSWebhook", "RTMSTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "RTMSIntegrationTests",
            dependencies: [
                "RTMSClient", "RTMSSimulator", "RTMSProtocol", "RTMSTransport", "RTMSSession", "RTMSWebhook", "RTMSRecord",
                "RTMSTestSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
    ]
)
