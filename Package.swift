// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "Lookup",
  platforms: [.macOS(.v15)],
  products: [
    .library(name: "Lookup", targets: ["Lookup"]),
    .executable(name: "lookupbench", targets: ["lookupbench"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
  ],
  targets: [
    .target(name: "CLookupSupport"),
    .target(name: "Lookup", dependencies: ["CLookupSupport"]),
    .executableTarget(
      name: "lookupbench",
      dependencies: [
        "Lookup",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .testTarget(name: "LookupTests", dependencies: ["Lookup"]),
  ],
  swiftLanguageModes: [.v6]
)
