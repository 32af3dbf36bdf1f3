import Benchmark
import Foundation
import Lookup

// Lookup's package-benchmark suites. Run from the repository root:
//   swift package --package-path Benchmarks benchmark
// Every SPD structure in the catalog gets a single-lookup and a batch-lookup benchmark over a
// shipped ClassBench trace. Their `Malloc (total)` must read 0: lookups allocate nothing.
// SAD structures, the replay window and PFP lookups are in SADBenchmarks.swift.
// (Wall-clock figures here are per pass over the trace; `lookupbench bench` reports ns/lookup.)

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
    return (try rules.policies(), trace.map { $0.flowKey() })
  } catch {
    fatalError("benchmark data missing: \(error)")
  }
}

/// An answer reduced to a number the loops add up, so nothing is optimised away (a protocol,
/// not a closure, so the timed loops make no indirect call).
protocol BenchmarkChecksum {
  var checksum: UInt32 { get }
}

extension PolicyLookupResult: BenchmarkChecksum {
  var checksum: UInt32 { index }
}

extension SALookupResult: BenchmarkChecksum {
  var checksum: UInt32 { id }
}

/// Registers a single-lookup and a batch-lookup (bursts of 64) benchmark of `structure` over `keys`.
func registerLookupBenchmarks<D: LookupStructure>(_ label: String, _ structure: D, keys: [D.Key])
where D.Result: BenchmarkChecksum {
  guard let first = keys.first else { fatalError("\(label): no lookup keys") }
  let metrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal, .throughput]
  Benchmark("\(label) single lookups (\(keys.count) per iteration)",
            configuration: .init(metrics: metrics, maxDuration: .seconds(2))) { benchmark in
    for _ in benchmark.scaledIterations {
      var sum: UInt32 = 0
      for key in keys { sum &+= structure.lookup(key).checksum }
      blackHole(sum)
    }
  }
  var results = [D.Result](repeating: structure.lookup(first), count: 64)
  Benchmark("\(label) batch lookups of 64 (\(keys.count) per iteration)",
            configuration: .init(metrics: metrics, maxDuration: .seconds(2))) { benchmark in
    for _ in benchmark.scaledIterations {
      var sum: UInt32 = 0
      keys.withUnsafeBufferPointer { keys in
        results.withUnsafeMutableBufferPointer { results in
          var offset = 0
          while offset < keys.count {
            let count = min(64, keys.count - offset)
            structure.lookup(UnsafeBufferPointer(rebasing: keys[offset..<(offset + count)]), into: results)
            for i in 0..<count { sum &+= results[i].checksum }
            offset += count
          }
        }
      }
      blackHole(sum)
    }
  }
}

/// Registers the lookup benchmarks of one SPD structure type (specialised through the visitor).
struct RegisterLookupBenchmarks: PolicyDatabaseVisitor {
  let name: String
  let set: String

  func visit<D: PolicyDatabase>(_ make: () -> D) throws {
    let (policies, keys) = workload(set)
    var database = make()
    for policy in policies { try database.insert(policy) }
    registerLookupBenchmarks("\(name), \(set):", database, keys: keys)
  }
}

let benchmarks: @Sendable () -> Void = {
  for name in StructureCatalog.policyDatabaseNames {
    do {
      try StructureCatalog.visitPolicyDatabase(named: name, RegisterLookupBenchmarks(name: name, set: "acl1_1k"))
    } catch {
      fatalError("\(name): \(error)")
    }
  }
  // The tuple space table's grouped batch search (from 32k policies on) forced on at 1k.
  do {
    let (policies, keys) = workload("acl1_1k")
    var grouped = TupleSpaceTable(groupSearchFrom: 0)
    for policy in policies { try grouped.insert(policy) }
    registerLookupBenchmarks("tuplespace (grouped batches), acl1_1k:", grouped, keys: keys)
  } catch {
    fatalError("tuplespace (grouped batches): \(error)")
  }
  registerSADBenchmarks("sad-spi") { SPIHashTable(inboundMode: .kernel) }
  registerSADBenchmarks("sad-ns") { NamespacedSAD(inboundMode: .kernel, maximumPerNamespace: .max) }
  registerReplayAndPFPBenchmarks()
}
