import Dispatch
import Testing
import Lookup

/// Readers and a writer at once on the shared and per-thread caches. Run under
/// `swift test --sanitize=thread --filter Concurrent` in CI.
@Suite("Concurrent flow caches")
struct ConcurrentFlowCacheTests {
  static let readers = 3

  /// A writer toggles one policy in and out; every answer a reader sees must be one of the
  /// two states' answers (never a mix, never stale after the toggle completes), and at the
  /// end every answer is the reference's.
  @Test func sharedCacheReadersAndAWriter() throws {
    let (policies, keys, toggle) = try Self.workload()
    let cache = SharedFlowCache(base: try TupleSpaceTable(inserting: policies),
                                configuration: try FlowCacheConfiguration(capacity: 1024, associativity: 4))
    let (without, with) = try Self.answers(policies, keys, toggle)
    DispatchQueue.concurrentPerform(iterations: Self.readers + 1) { worker in
      if worker == Self.readers {
        for _ in 0..<200 {
          _ = try? cache.insert(toggle)
          _ = try? cache.remove(toggle.index)
        }
      } else {
        for round in 0..<20 {
          for (i, key) in keys.enumerated() where (i + round) % 3 == worker % 3 {
            let answer = cache.lookup(key)
            #expect(answer == without[i] || answer == with[i])
          }
        }
      }
    }
    for (i, key) in keys.enumerated() { #expect(cache.lookup(key) == without[i]) }
    #expect(cache.counters.hits > 0)
  }

  @Test func perThreadCachesReadersAndAWriter() throws {
    let (policies, keys, toggle) = try Self.workload()
    let caches = PerThreadFlowCaches(base: try RadixPolicyTree(inserting: policies), threads: Self.readers,
                                     configuration: try FlowCacheConfiguration(capacity: 1024, associativity: 4))
    let (without, with) = try Self.answers(policies, keys, toggle)
    DispatchQueue.concurrentPerform(iterations: Self.readers + 1) { worker in
      if worker == Self.readers {
        for _ in 0..<100 {
          _ = try? caches.insert(toggle)
          _ = try? caches.remove(toggle.index)
        }
      } else {
        for _ in 0..<20 {
          for (i, key) in keys.enumerated() {
            let answer = caches.lookup(key, thread: worker)
            #expect(answer == without[i] || answer == with[i])
          }
        }
      }
    }
    for thread in 0..<Self.readers {
      for (i, key) in keys.enumerated() { #expect(caches.lookup(key, thread: thread) == without[i]) }
    }
  }

  /// fw1_1k's rules and first distinct headers, and a policy to toggle that beats many answers.
  static func workload() throws -> ([Policy], [FlowKey], Policy) {
    let policies = try ClassBenchFormat.readRules(path: "\(shippedData)/fw1_1k.rules").policies()
    var seen = Set<FlowKey>()
    let keys = try ClassBenchFormat.readTrace(path: "\(shippedData)/fw1_1k.trace").map { $0.flowKey() }
      .filter { seen.insert($0).inserted }.prefix(300)
    let toggle = Policy(selector: selector("0.0.0.0/1", "0.0.0.0/0", proto: .number(6)), priority: 0,
                        index: ClassBenchRuleSet.policyIndex(ruleNumber: 900_000), direction: .out, action: .block)
    return (policies, Array(keys), toggle)
  }

  /// The reference's answers without and with the toggled policy.
  static func answers(_ policies: [Policy], _ keys: [FlowKey], _ toggle: Policy) throws
  -> ([PolicyLookupResult], [PolicyLookupResult]) {
    var reference = try LinearPolicyTable(inserting: policies)
    let without = keys.map { reference.lookup($0) }
    try reference.insert(toggle)
    return (without, keys.map { reference.lookup($0) })
  }
}
