// swift-tools-version:6.1
// OpenRTMS fuzz targets (libFuzzer through `swiftc -sanitize=fuzzer`). Built and run only by
// scripts/fuzz.sh, never by the main package's `swift build`/`swift test`:
//
//   swift build --package-path Tests/fuzz --scratch-path .build-fuzz -c release \
//     -Xswiftc -sanitize=fuzzer -Xswiftc -enable-testing
//
// The targets need the fuzzer flag to link (their main calls libFuzzer's LLVMFuzzerRunDriver),
// so they cannot live in the main package. A path dependency on the main package would not work
// either: it exports only the C ABI (a dynamic library) and the command lines, not the modules,
// and the targets need internal API (@testable: isValidUTF8, the webhook server's handlers). So
// the five modules under test are compiled here again from the same sources: Sources/<module>
// here are symlinks to the main package's Sources/<module>. Their dependencies mirror
// ../../Package.swift; when a module there gains a dependency, add it here too (scripts/fuzz.sh
// fails to build until then).
import PackageDescription

let package = Package(
    name: "OpenRTMSFuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-extras/swift-extras-base64.git", from: "1.2.0"),
    ],
    targets: [
        // The main package's modules (symlinked sources), with the same dependencies.
        .target(name: "CBase64"),
        .target(
            name: "RTMSProtocol",
            dependencies: [
                "CBase64",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
            ]),
        .target(name: "RTMSSession", dependencies: ["RTMSProtocol"]),
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
        .target(
            name: "RTMSClient",
            dependencies: [
                "RTMSProtocol", "RTMSSession", "RTMSTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
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

        // libFuzzer's driver entry point, and the fuzz targets' shared checks and helpers.
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"]),

        // The fuzz targets: one executable each; LLVMFuzzerTestOneInput is in Target.swift, main.swift
        // hands it to libFuzzer's driver.
        .executableTarget(name: "fuzz-json", dependencies: ["FuzzSupport", "RTMSProtocol"]),
        .executableTarget(
            name: "fuzz-base64",
            dependencies: [
                "FuzzSupport", "RTMSProtocol",
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
            ]),
        .executableTarget(
            name: "fuzz-websocket",
            dependencies: [
                "FuzzSupport", "RTMSProtocol", "RTMSSession", "RTMSTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]),
        .executableTarget(
            name: "fuzz-webhook",
            dependencies: [
                "FuzzSupport", "RTMSProtocol", "RTMSWebhook",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
    ]
)
