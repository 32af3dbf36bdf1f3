// swift-tools-version: 6.1
// The benchmark suites live in their own package so that `swift build` and `swift test` at
// the root never build the benchmark framework. Run from the repository root:
//   swift package --package-path Benchmarks benchmark
import PackageDescription

let package = Package(
  name: "LookupBenchmarks",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "Lookup", path: ".."),
    // Naming the trait replaces the defaults (whose runtime interposer is not available here)
    // and keeps the malloc counters: see ../shared/reference/swift-notes.md.
    .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: [
    .executableTarget(
      name: "LookupBenchmarks",
      dependencies: [
        .product(name: "Lookup", package: "Lookup"),
        .product(name: "Benchmark", package: "benchmark"),
      ],
      path: "LookupBenchmarks",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
  ],
  swiftLanguageModes: [.v6]
)
