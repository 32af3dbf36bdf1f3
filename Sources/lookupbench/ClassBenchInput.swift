import ArgumentParser

/// The rule file and trace every ClassBench-driven command takes.
struct ClassBenchInput: ParsableArguments {
  @Option(help: "A ClassBench rule file.")
  var rules: String

  @Option(help: "A ClassBench trace file.")
  var trace: String

  /// The rules and trace, read and turned into policies and flow keys.
  func workload() throws -> ClassBenchWorkload {
    try ClassBenchWorkload(rules: rules, trace: trace)
  }
}
