// swift-tools-version:6.0
// An example that depends on OpenRTMS by path, as an application's package would by URL:
//   .package(url: "https://github.com/openrtms/openrtms.git", from: "0.1.0")
import PackageDescription

let package = Package(
    name: "OpenRTMSExamples",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "OpenRTMS", path: "../..")],
    targets: [
        .executableTarget(
            name: "TranscriptBot",
            dependencies: [.product(name: "OpenRTMSKit", package: "OpenRTMS")])
    ]
)
