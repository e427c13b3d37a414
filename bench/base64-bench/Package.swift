// swift-tools-version:6.0
// A standalone benchmark of base64 decoding at the payload sizes RTMS streams carry (bench/base64_bench.py drives it).
// It does not depend on the OpenRTMS package: it calls swift-extras-base64 the way the core does, and builds the
// core's C decoder from its one copy: Sources/CBase64 here is a symlink to the main package's Sources/CBase64.
import PackageDescription

let package = Package(
    name: "base64-bench",
    dependencies: [
        .package(url: "https://github.com/swift-extras/swift-extras-base64.git", from: "1.2.0")
    ],
    targets: [
        // As the main package declares it (no settings of its own).
        .target(name: "CBase64"),
        .executableTarget(
            name: "base64-bench",
            dependencies: ["CBase64", .product(name: "ExtrasBase64", package: "swift-extras-base64")]),
    ]
)
