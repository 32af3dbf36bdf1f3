// swift-tools-version: 6.1
// libFuzzer targets for every reader of outside input. A separate package so the root build
// never needs the fuzzer runtime. Build and run them with `scripts/fuzz.sh` (which passes
// `-sanitize=fuzzer`); built without it, each target replays the files named on its command
// line (the committed corpus and crash regressions) through the same entry point.
import PackageDescription

let fuzzTargets = ["FuzzClassBenchRules", "FuzzClassBenchTrace", "FuzzIPXfrm"]

let package = Package(
  name: "LookupFuzz",
  platforms: [.macOS(.v15)],
  dependencies: [.package(name: "Lookup", path: "..")],
  targets: [.target(name: "FuzzSupport", path: "FuzzSupport")]
    + fuzzTargets.map { name in
      .executableTarget(name: name, dependencies: ["FuzzSupport", .product(name: "Lookup", package: "Lookup")], path: name)
    },
  swiftLanguageModes: [.v6]
)
