// swift-tools-version:6.2
// An example that depends on OpenRTMS by path, as an application's package would by URL:
//   .package(url: "https://github.com/openrtms/openrtms.git", from: "0.1.0")
import PackageDescription

let package = Package(
    name: "OpenRTMSExamples",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "OpenRTMS", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        .executableTarget(
            name: "TranscriptBot",
            dependencies: [.product(name: "OpenRTMSKit", package: "OpenRTMS")]),
        .executableTarget(
            name: "LiveTranscript",
            dependencies: [
                .product(name: "OpenRTMSKit", package: "OpenRTMS"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]),
    ]
)
