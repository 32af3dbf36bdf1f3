import Testing
import Lookup

/// Tuple merging (`TupleSpaceIndex`'s placement): fewer tuples, bounded lists, exact answers.
@Suite("TupleSpaceTable merging")
struct TupleSpaceTableTests {
  /// Many /24 sites under one /16 (a VPN concentrator's policies): merging fills the coarse
  /// /16 tuple up to the limit, then the /24s get their own tuple and keys — no list grows
  /// past the limit, and the answers stay the reference's through removals.
  @Test func sitesUnderOnePrefixKeepListsAtTheLimit() throws {
    let policies = (0..<300).map { i in
      var policy = Policy(selector: selector("10.1.\(i % 256).0/24", "0.0.0.0/0", dport: i < 256 ? .any : .exactly(UInt16(i))),
                          priority: UInt32(i), direction: .out)
      policy.index = UInt32(i + 1) << 3 | UInt32(PolicyDirection.out.rawValue)
      return policy
    }
    var table = try TupleSpaceTable(inserting: policies)
    var reference = try LinearPolicyTable(inserting: policies)
    table.checkInvariants()
    #expect(table.statistics["longest list"]! <= 16, "merging made a list longer than the limit")
    #expect(table.statistics["tuples"]! == 2, "the /16 tuple, full, and the /24 tuple")
    let flows = (0..<256).flatMap { i in [flow("10.1.\(i).9", "8.8.8.8", dport: 300), flow("10.1.\(i).9", "8.8.8.8", dport: 7)] }
    for key in flows { #expect(table.lookup(key) == reference.lookup(key)) }
    for policy in policies where policy.priority % 3 == 0 {
      try table.remove(policy.index)
      try reference.remove(policy.index)
    }
    table.checkInvariants()
    for key in flows { #expect(table.lookup(key) == reference.lookup(key)) }
  }

  /// Rules sharing the key at their own lengths share a list however long (merging cannot
  /// separate them): 40 policies between the same two hosts, one per port.
  @Test func rulesOfOneKeyShareOneList() throws {
    let policies = (0..<40).map { i in
      Policy(selector: selector("10.0.0.1/32", "10.0.0.2/32", dport: .exactly(UInt16(1000 + i))), priority: UInt32(i),
             direction: .out)
    }
    let table = try TupleSpaceTable(inserting: policies)
    let reference = try LinearPolicyTable(inserting: policies)
    table.checkInvariants()
    #expect(table.statistics["tuples"]! == 1 && table.statistics["longest list"]! == 40)
    for port in 990..<1050 {
      let key = flow("10.0.0.1", "10.0.0.2", dport: UInt16(port))
      #expect(table.lookup(key) == reference.lookup(key), "port \(port)")
    }
  }

  /// A rule merged into a coarser tuple is found by flows anywhere in its prefix, and only
  /// there: the full rule is checked after the coarse key matched.
  @Test func mergedRulesMatchOnlyTheirOwnPrefixes() throws {
    let policies = [
      Policy(selector: selector("10.1.0.0/16", "0.0.0.0/0"), priority: 5, direction: .out),
      Policy(selector: selector("10.1.2.0/24", "0.0.0.0/0"), priority: 1, direction: .out),
      Policy(selector: selector("10.1.3.128/25", "0.0.0.0/0"), priority: 2, direction: .out),
    ]
    let table = try TupleSpaceTable(inserting: policies)
    let reference = try LinearPolicyTable(inserting: policies)
    table.checkInvariants()
    #expect(table.statistics["tuples"]! == 1, "both longer prefixes join the /16 tuple")
    for host in ["10.1.2.7", "10.1.3.7", "10.1.3.200", "10.1.4.1", "10.2.0.1"] {
      let key = flow(host, "1.2.3.4")
      #expect(table.lookup(key) == reference.lookup(key), "\(host)")
    }
  }

  /// Thousands of host-pair keys in one tuple fill some table groups (12 entries), so keys
  /// overflow into later groups (keys are added until at least one group has, whatever the
  /// table's random seed); removing and re-inserting a random half (twice) takes the overflow
  /// counts down and up again. After each change every key is looked up, single and in
  /// bursts, by the single search and by the grouped batch search (`groupSearchFrom: 0`):
  /// present keys find their own policy, removed ones — probes through overflowed groups
  /// that must end without a candidate — find nothing; the invariants (each overflow count
  /// equals the keys passing its group, each entry is what the probe for its key finds
  /// first) hold throughout.
  @Test(arguments: [false, true])
  func keysOverflowingTheirGroupStayFoundThroughChanges(groupedBatches: Bool) throws {
    var generator = SeededGenerator(seed: 41)
    func host() -> String { "10.\(generator.next() % 256).\(generator.next() % 256).\(generator.next() % 256)" }
    var table = groupedBatches ? TupleSpaceTable(groupSearchFrom: 0) : TupleSpaceTable()
    var seen = Set<String>()
    var policies: [Policy] = []
    while policies.count < 40_000 && (policies.count < 6000 || table.statistics["overflowed groups"]! == 0) {
      let source = host(), destination = host()
      guard seen.insert(source + ">" + destination).inserted else { continue }
      var policy = Policy(selector: selector(source + "/32", destination + "/32"), priority: UInt32(policies.count % 50),
                          direction: .out)
      policy.index = UInt32(policies.count + 1) << 3 | UInt32(PolicyDirection.out.rawValue)
      try table.insert(policy)
      policies.append(policy)
    }
    table.checkInvariants()
    #expect(table.statistics["tuples"]! == 1)
    #expect(table.statistics["overflowed groups"]! > 0, "no group overflowed: the test exercises nothing")
    let keys = policies.map {
      FlowKey(source: $0.selector.source.address, destination: $0.selector.destination.address, sourcePort: 1,
              destinationPort: 2, proto: 6, direction: .out)
    }
    var present = [Bool](repeating: true, count: policies.count)
    func checkEveryKey(_ when: String) {
      var batch = [PolicyLookupResult](repeating: .noMatch(.allow), count: keys.count)
      keys.withUnsafeBufferPointer { keys in batch.withUnsafeMutableBufferPointer { table.lookup(keys, into: $0) } }
      var wrong = 0
      for i in keys.indices {
        let expected = present[i] ? policies[i].index : 0
        if table.lookup(keys[i]).index != expected || batch[i].index != expected { wrong += 1 }
      }
      #expect(wrong == 0, "\(when): \(wrong) of \(keys.count) keys answered wrongly")
    }
    checkEveryKey("built")
    for round in 0..<2 {
      let half = policies.indices.filter { _ in generator.next() % 2 == 0 }
      for i in half {
        try table.remove(policies[i].index)
        present[i] = false
      }
      table.checkInvariants()
      checkEveryKey("round \(round), half removed")
      for i in half.reversed() {
        try table.insert(policies[i])
        present[i] = true
      }
      table.checkInvariants()
      checkEveryKey("round \(round), re-inserted")
    }
  }
}
