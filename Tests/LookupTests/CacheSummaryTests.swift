import Testing
import Lookup

/// The flow cache's block summaries: a targeted invalidation skips the blocks whose summary
/// its query does not admit, so a query that fails to admit an affected entry leaves a stale
/// answer visible. These tests hold the structures' summaries to their contract directly,
/// and show that the cache then examines only part of its ways.
@Suite("Flow cache summaries")
struct CacheSummaryTests {
  /// Every (policy, flow, cached answer) for which `change` or `removal` says the policy may
  /// affect the entry has summary bits the policy's query admits: ClassBench policies with
  /// their traces (many matches), and random IPv4 and IPv6 policies with prefixes of every
  /// length (short ones included: they must admit any flow) against flows drawn inside them.
  @Test func policyQueriesAdmitEveryEntryAChangeMayAffect() throws {
    var policies: [Policy] = []
    var flows: [FlowKey] = []
    for set in ["acl1_1k", "fw1_1k", "ipc1_1k"] {
      policies += try ClassBenchFormat.readRules(path: "\(shippedData)/\(set).rules").policies().prefix(150)
      flows += try ClassBenchFormat.readTrace(path: "\(shippedData)/\(set).trace").map { $0.flowKey() }.prefix(300)
    }
    var random = SeededGenerator(seed: 11)
    func address(_ ipv6: Bool) -> IPAddress {
      ipv6 ? IPAddress(ipv6: UInt128(random.next()) << 64 | UInt128(random.next()))
           : IPAddress(ipv4: UInt32(truncatingIfNeeded: random.next()))
    }
    for n in 0..<200 {
      let ipv6 = n % 4 == 3
      let width = ipv6 ? 128 : 32
      let source = try AddressPrefix(address: address(ipv6), length: Int.random(in: 0...width, using: &random))
      let destination = try AddressPrefix(address: address(ipv6), length: Int.random(in: 0...width, using: &random))
      let policy = Policy(selector: try PolicySelector(source: source, destination: destination), priority: UInt32(n),
                          index: UInt32(8 * (5_000 + n) + 1), direction: .out)
      policies.append(policy)
      // Flows inside both prefixes (they match).
      for _ in 0..<3 {
        let inSource = source.network | (address(ipv6).bits & ~source.mask)
        let inDestination = destination.network | (address(ipv6).bits & ~destination.mask)
        flows.append(FlowKey(source: IPAddress(bits: inSource, family: source.family),
                             destination: IPAddress(bits: inDestination, family: destination.family)))
      }
    }
    var affected = 0, removals = 0
    for policy in policies {
      let changeQuery = LinearPolicyTable.summaryQuery(ofChange: policy)
      let removalQuery = LinearPolicyTable.summaryQuery(ofRemoval: policy)
      for key in flows {
        let words = key.cacheWords
        for answer in [PolicyLookupResult(index: policy.index, action: .allow),
                       PolicyLookupResult(index: policy.index &+ 8, action: .block), .noMatch(.allow)] {
          let bits = LinearPolicyTable.summaryBits(of: words, answer: answer)
          if LinearPolicyTable.change(of: policy, mayAffect: key, cachedAnswer: answer) {
            affected += 1
            #expect(changeQuery.admits(bits), "change of \(policy.selector) must admit \(key) answered \(answer)")
          }
          if LinearPolicyTable.removal(of: policy, mayAffect: answer) {
            removals += 1
            #expect(removalQuery.admits(bits), "removal of \(policy.index) must admit \(key) answered \(answer)")
          }
        }
      }
    }
    // The check means something only if many pairs are affected for reasons other than
    // being the answer: one answer in three is the policy's own (policies × flows pairs),
    // and each matching pair counts twice more.
    #expect(affected > policies.count * flows.count + 2_000, "too few matching pairs: \(affected)")
    #expect(removals == policies.count * flows.count)
  }

  /// The same contract for SAs: a change affects keys with the SA's SPI (and namespace), and
  /// the entries it answered.
  @Test func securityAssociationQueriesAdmitEveryEntryAChangeMayAffect() throws {
    var random = SeededGenerator(seed: 12)
    let destinations = (0..<4).map { IPAddress(ipv4: 0x0a00_0000 | UInt32($0)) }
    var associations: [SecurityAssociation] = []
    for n in 0..<60 {
      associations.append(try SecurityAssociation(id: UInt32(n + 1), spi: UInt32(0x1000 + n % 20),
                                                  destination: destinations[n % 4], namespace: UInt32(n % 3)))
    }
    var affected = 0
    for sa in associations {
      let changeQuery = LinearSAD.summaryQuery(ofChange: sa)
      let removalQuery = LinearSAD.summaryQuery(ofRemoval: sa)
      for _ in 0..<200 {
        let key = SALookupKey(destination: destinations[Int.random(in: 0..<4, using: &random)],
                              spi: UInt32(0x1000 + Int.random(in: 0..<20, using: &random)),
                              namespace: UInt32.random(in: 0..<3, using: &random))
        let answer = SALookupResult(id: UInt32.random(in: 0...60, using: &random))
        let bits = LinearSAD.summaryBits(of: key.cacheWords, answer: answer)
        if LinearSAD.change(of: sa, mayAffect: key, cachedAnswer: answer) {
          affected += 1
          #expect(changeQuery.admits(bits), "change of SA \(sa.id) must admit SPI \(key.spi) answered \(answer.id)")
        }
        if LinearSAD.removal(of: sa, mayAffect: answer) {
          #expect(removalQuery.admits(bits), "removal of SA \(sa.id) must admit answer \(answer.id)")
        }
      }
    }
    #expect(affected > 300, "too few affected pairs: \(affected)")
  }

  /// A policy inserted without an index (0: the table picks one) is no cached answer's, not
  /// even of the "no match" answers (whose index is 0): an unrelated insert keeps them. It
  /// once dropped every cached "no match" answer.
  @Test func anInsertWithoutAnIndexKeepsUnrelatedNoMatchAnswers() throws {
    let configuration = try FlowCacheConfiguration(capacity: 1024, associativity: 4, invalidation: .targeted)
    let cache = FlowCache(base: try TupleSpaceTable(inserting: [
      Policy(selector: selector("10.0.0.0/8", "0.0.0.0/0"), priority: 10, direction: .out),
    ]), configuration: configuration, seed: 42)
    let unmatched = (0..<50).map { flow("192.168.0.\($0)", "1.1.1.1") }
    for key in unmatched { #expect(!cache.lookup(key).matched) }
    cache.resetCounters()
    try cache.insert(Policy(selector: selector("172.16.0.0/12", "0.0.0.0/0"), priority: 1, direction: .out))
    #expect(cache.counters.invalidations == 0)
    for key in unmatched { #expect(!cache.lookup(key).matched) }
    #expect(cache.counters.hits == unmatched.count)
    // A policy that matches them still takes their "no match" answers away.
    let covering = try cache.insert(Policy(selector: selector("192.168.0.0/16", "0.0.0.0/0"), priority: 1, direction: .out))
    #expect(cache.counters.invalidations == unmatched.count)
    for key in unmatched { #expect(cache.lookup(key).index == covering) }
  }

  /// With its summaries the cache examines only the blocks that may hold an affected entry:
  /// 1,024 cached flows from 64 source /16s (each its own policy), one new policy for one of
  /// them and one removal of a policy no flow is answered by. Both invalidate exactly what
  /// they must (checked by lookups against the base) while examining a small part of the
  /// cached ways (a full scan examines all 1,024).
  @Test func targetedChangesExamineOnlyTheBlocksTheirSummariesAdmit() throws {
    var policies = (0..<64).map { a in
      Policy(selector: selector("10.\(a).0.0/16", "0.0.0.0/0"), priority: 100, direction: .out)
    }
    policies.append(Policy(selector: selector("172.16.0.0/12", "0.0.0.0/0"), priority: 100, direction: .out))
    let flows = (0..<64).flatMap { a in (0..<16).map { b in flow("10.\(a).0.\(b)", "192.168.\(a).1") } }
    // 16,384 ways for 1,024 flows: no set overflows (with this seed), nothing is evicted.
    let configuration = try FlowCacheConfiguration(capacity: 16_384, associativity: 4, invalidation: .targeted)
    let cache = FlowCache(base: try TupleSpaceTable(inserting: policies), configuration: configuration, seed: 5)
    for key in flows { _ = cache.lookup(key) }
    #expect(cache.counters.evictions == 0 && cache.cachedEntries == flows.count)
    cache.resetCounters()

    // A better policy for 10.5/16 → 192.168.5/24: exactly the 16 flows of 10.5/16 change.
    let better = try cache.insert(Policy(selector: selector("10.5.0.0/16", "192.168.5.0/24"), priority: 1, direction: .out))
    #expect(cache.counters.invalidations == 16)
    #expect(cache.counters.waysExamined < flows.count / 4, "examined \(cache.counters.waysExamined) of \(flows.count)")
    let examinedByInsert = cache.counters.waysExamined

    // Removing the 172.16/12 policy, the answer of no cached flow, drops nothing.
    let unused = try #require(cache.base.policies.first { $0.selector.source == prefix("172.16.0.0/12") })
    try cache.remove(unused.index)
    #expect(cache.counters.invalidations == 16)
    #expect(cache.counters.waysExamined - examinedByInsert < flows.count / 4,
            "examined \(cache.counters.waysExamined - examinedByInsert) of \(flows.count)")
    cache.checkInvariants()

    for key in flows {
      let expected = cache.base.lookup(key)
      #expect(cache.lookup(key) == expected)
      if key.source >> 112 == 0x0a05 { #expect(expected.index == better) }
    }
    #expect(cache.counters.misses == 16, "only the invalidated flows are looked up again")
  }
}
