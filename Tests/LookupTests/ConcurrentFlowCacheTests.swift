import Dispatch
import Foundation
import Synchronization
import Testing
import Lookup

/// Readers and a writer at once on the shared and per-thread caches. Run under
/// `swift test --sanitize=thread --filter Concurrent` in CI.
@Suite("Concurrent flow caches")
struct ConcurrentFlowCacheTests {
  static let readers = 3

  /// A writer toggles one policy in and out; every answer a reader sees must be one of the
  /// two states' answers, exactly the current state's when no change overlapped the lookup
  /// (never stale after a change completes), and at the end every answer is the reference's.
  @Test func sharedCacheReadersAndAWriter() throws {
    let (policies, keys, toggle) = try Self.workload()
    let cache = SharedFlowCache(base: try TupleSpaceTable(inserting: policies),
                                configuration: try FlowCacheConfiguration(capacity: 1024, associativity: 4))
    let (without, with) = try Self.answers(policies, keys, toggle)
    let phase = Phase()
    Self.onThreads(Self.readers + 1) { worker in
      if worker == Self.readers {
        Self.toggle(200, phase) { try cache.insert(toggle) } remove: { try cache.remove(toggle.index) }
      } else {
        var round = 0
        while round < 20 || !phase.finished(200) {
          for (i, key) in keys.enumerated() where (i + round) % 3 == worker % 3 {
            Self.check(phase, without: without[i], with: with[i]) { cache.lookup(key) }
          }
          round += 1
        }
      }
    }
    #expect(phase.finished(200), "every toggle went through")
    phase.expectClean()
    for (i, key) in keys.enumerated() { #expect(cache.lookup(key) == without[i]) }
    #expect(cache.counters.hits > 0)
  }

  @Test func perThreadCachesReadersAndAWriter() throws {
    let (policies, keys, toggle) = try Self.workload()
    let caches = PerThreadFlowCaches(base: try RadixPolicyTree(inserting: policies), threads: Self.readers,
                                     configuration: try FlowCacheConfiguration(capacity: 1024, associativity: 4))
    let (without, with) = try Self.answers(policies, keys, toggle)
    let phase = Phase()
    Self.onThreads(Self.readers + 1) { worker in
      if worker == Self.readers {
        Self.toggle(100, phase) { try caches.insert(toggle) } remove: { try caches.remove(toggle.index) }
      } else {
        var round = 0
        while round < 20 || !phase.finished(100) {
          for (i, key) in keys.enumerated() {
            Self.check(phase, without: without[i], with: with[i]) { caches.lookup(key, thread: worker) }
          }
          round += 1
        }
      }
    }
    #expect(phase.finished(100), "every toggle went through")
    phase.expectClean()
    for thread in 0..<Self.readers {
      for (i, key) in keys.enumerated() { #expect(caches.lookup(key, thread: thread) == without[i]) }
    }
  }

  /// The writer's progress, shared with the readers.
  final class Phase: Sendable {
    let value = Atomic<Int>(0)
    /// Counted on the worker threads (an issue recorded there is not the test's) and
    /// expected to be 0 by the test once they are done.
    let wrongAnswers = Atomic<Int>(0), failedChanges = Atomic<Int>(0)
    /// Lookups that no change overlapped: the ones that can catch a stale answer.
    let checkedInStablePhase = Atomic<Int>(0)

    func expectClean() {
      #expect(wrongAnswers.load(ordering: .acquiring) == 0, "answers of neither state, or stale ones")
      #expect(failedChanges.load(ordering: .acquiring) == 0, "the writer's changes failed")
      #expect(checkedInStablePhase.load(ordering: .acquiring) > 0, "no lookup ran between changes")
    }
    /// Whether `times` insert-and-remove rounds have ended.
    func finished(_ times: Int) -> Bool { value.load(ordering: .acquiring) >= 4 * times }
  }

  /// Runs `body(0..<count)` on `count` threads of their own, all at once: readers that wait
  /// for the writer must not take the places a thread pool sized to the cores would give it.
  static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for worker in 0..<count {
      group.enter()
      Thread {
        body(worker)
        group.leave()
      }.start()
    }
    group.wait()
  }

  /// The writer: `times` times, insert then remove the toggled policy. `phase` counts each
  /// change's start and end: 0 mod 4, the policy is out and nothing is changing; 1, it is
  /// being inserted; 2, it is in; 3, it is being removed.
  static func toggle(_ times: Int, _ phase: Phase, insert: () throws -> Void, remove: () throws -> Void) {
    func change(_ body: () throws -> Void) {
      phase.value.add(1, ordering: .releasing)
      do { try body() } catch { phase.failedChanges.add(1, ordering: .relaxed) }
      phase.value.add(1, ordering: .releasing)
      // Hold the new state for a while, so that readers look up in it and not only across
      // changes (a change takes microseconds).
      let until = DispatchTime.now().uptimeNanoseconds + 50_000
      while DispatchTime.now().uptimeNanoseconds < until {}
    }
    for _ in 0..<times {
      change(insert)
      change(remove)
    }
  }

  /// A reader's lookup: if no change started or ended while it ran, the answer must be that
  /// state's exactly (a stale answer after a completed change fails here); otherwise either.
  static func check(_ phase: Phase, without: PolicyLookupResult, with: PolicyLookupResult,
                    _ lookup: () -> PolicyLookupResult) {
    let before = phase.value.load(ordering: .acquiring)
    let answer = lookup()
    let after = phase.value.load(ordering: .acquiring)
    let allowed = before == after && before % 2 == 0 ? answer == (before % 4 == 0 ? without : with)
                                                     : answer == without || answer == with
    if !allowed { phase.wrongAnswers.add(1, ordering: .relaxed) }
    phase.checkedInStablePhase.add(before == after && before % 2 == 0 ? 1 : 0, ordering: .relaxed)
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
