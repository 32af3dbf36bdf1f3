import Benchmark
import Foundation
import Lookup

/// The shipped ClassBench data, found relative to this file.
let dataFolder: String = {
  var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
  parts.removeLast(3)  // Benchmarks/LookupBenchmarks/LookupBenchmarks.swift
  return parts.joined(separator: "/") + "/Data/classbench"
}()

/// Rules and trace keys of a shipped set.
func workload(_ set: String) -> (policies: [Policy], keys: [FlowKey]) {
  do {
    let rules = try ClassBenchFormat.readRules(path: "\(dataFolder)/\(set).rules")
    let trace = try ClassBenchFormat.readTrace(path: "\(dataFolder)/\(set).trace")
    return (rules.policies(), trace.map { $0.flowKey() })
  } catch {
    fatalError("benchmark data missing: \(error)")
  }
}

/// One pass over the trace per iteration; the malloc counter must read 0 for lookups.
func lookupBenchmark<D: PolicyDatabase>(_ name: String, _ type: D.Type, set: String) {
  let (policies, keys) = workload(set)
  let database: D
  do { database = try D(inserting: policies) } catch { fatalError("\(error)") }
  Benchmark(
    "\(name) lookup \(set) (\(keys.count) keys per iteration)",
    configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput], maxDuration: .seconds(2))
  ) { benchmark in
    for _ in benchmark.scaledIterations {
      var checksum: UInt32 = 0
      for key in keys { checksum &+= database.lookup(key).index }
      blackHole(checksum)
    }
  }
}

let benchmarks: @Sendable () -> Void = {
  lookupBenchmark("linear", LinearPolicyTable.self, set: "acl1_1k")
  lookupBenchmark("radix", RadixPolicyTree.self, set: "acl1_1k")
}
