import Testing
import Lookup

@Suite("FlowCache")
struct FlowCacheTests {
  static let configurations: [FlowCacheConfiguration] = CacheReplacement.allCases.flatMap { replacement in
    CacheInvalidation.allCases.map { invalidation in
      try! FlowCacheConfiguration(capacity: 256, associativity: 4, replacement: replacement,
                                  invalidation: invalidation, idleTimeout: 50)
    }
  }

  /// Every replacement × invalidation mode answers what `linear` answers on every shipped
  /// trace, with random policy changes (remove, re-insert, update) between lookups.
  @Test(arguments: configurations)
  func agreesWithLinearUnderChurn(configuration: FlowCacheConfiguration) throws {
    for set in ["acl1_1k", "fw1_1k", "ipc1_1k"] {
      let policies = try ClassBenchFormat.readRules(path: "\(shippedData)/\(set).rules").policies()
      let keys = try ClassBenchFormat.readTrace(path: "\(shippedData)/\(set).trace").map { $0.flowKey() }
      var reference = try LinearPolicyTable(inserting: policies)
      let cache = FlowCache(base: try TupleSpaceTable(inserting: policies), configuration: configuration)
      var random = SeededGenerator(seed: 7)
      var removed: [Policy] = []
      for (i, key) in keys.enumerated() {
        if i % 50 == 0 { cache.advanceClock(to: UInt32(i / 10)) }
        if i % 97 == 0 {
          switch Int.random(in: 0..<3, using: &random) {
          case 0:
            let victim = policies.randomElement(using: &random)!
            if (try? reference.remove(victim.index)) != nil {
              try cache.remove(victim.index)
              removed.append(victim)
            }
          case 1:
            if let back = removed.popLast() {
              try reference.insert(back)
              try cache.insert(back)
            }
          default:
            var changed = policies.randomElement(using: &random)!
            changed.priority = UInt32.random(in: 0..<UInt32(policies.count), using: &random)
            changed.action = .block
            if reference.policy(index: changed.index) != nil {
              try reference.update(changed)
              try cache.update(changed)
            }
          }
        }
        let expected = reference.lookup(key)
        let got = cache.lookup(key)
        #expect(got == expected, "\(set) header \(i + 1): \(got), expected \(expected) (\(configuration))")
        if got != expected { return }
        if i % 61 == 0 {
          // A burst through the batch path (repeats included, so some of it hits and some
          // of it evicts ways other keys of the burst picked).
          let burst = Array(keys[i..<min(keys.count, i + 40)]) + Array(keys[max(0, i - 24)..<i])
          var answers = [PolicyLookupResult](repeating: .noMatch(.allow), count: burst.count)
          burst.withUnsafeBufferPointer { keys in
            answers.withUnsafeMutableBufferPointer { cache.lookup(keys, into: $0) }
          }
          for (j, key) in burst.enumerated() where answers[j] != reference.lookup(key) {
            Issue.record("\(set) burst at \(i + 1), key \(j): \(answers[j]), expected \(reference.lookup(key)) (\(configuration))")
            return
          }
        }
      }
      #expect(cache.counters.hits > 0, "\(set): the cache never hit")
      cache.checkInvariants()
    }
  }

  /// The batch lookup is the single lookups in order, counters and contents included: two
  /// caches with one seed, one fed single lookups and one the same keys in bursts (a small
  /// cache, so bursts evict each other's ways; repeats inside a group of 16, so a burst's
  /// miss inserts a key a later key of the group looks up; a few distinct 1-way sets with
  /// direct mapping), compared after every burst.
  @Test(arguments: configurations + [try! FlowCacheConfiguration(capacity: 64, associativity: 1,
                                                                  replacement: .directMapped)])
  func batchLookupsCountAndKeepWhatSingleLookupsInOrderDo(configuration: FlowCacheConfiguration) throws {
    let policies = try ClassBenchFormat.readRules(path: "\(shippedData)/acl1_1k.rules").policies()
    let trace = try ClassBenchFormat.readTrace(path: "\(shippedData)/acl1_1k.trace").map { $0.flowKey() }
    let distinct = Array(Set(trace)).sorted { $0.source < $1.source || ($0.source == $1.source && $0.sourcePort < $1.sourcePort) }
    let base = try TupleSpaceTable(inserting: policies)
    let single = FlowCache(base: base, configuration: configuration, seed: 9)
    let batched = FlowCache(base: base, configuration: configuration, seed: 9)
    var random = SeededGenerator(seed: 21)
    for round in 0..<60 {
      // Hot keys repeat within a burst; cold ones fill the cache.
      let burst = (0..<Int.random(in: 1...64, using: &random)).map { _ in
        Bool.random(using: &random) ? distinct[Int.random(in: 0..<8, using: &random)]
                                    : distinct[Int.random(in: 0..<distinct.count, using: &random)]
      }
      if round % 10 == 9 {
        single.advanceClock(to: UInt32(round * 10))
        batched.advanceClock(to: UInt32(round * 10))
      }
      let expected = burst.map { single.lookup($0) }
      var answers = [PolicyLookupResult](repeating: .noMatch(.allow), count: burst.count)
      burst.withUnsafeBufferPointer { keys in
        answers.withUnsafeMutableBufferPointer { batched.lookup(keys, into: $0) }
      }
      #expect(answers == expected, "round \(round): answers differ (\(configuration))")
      #expect(batched.counters == single.counters,
              "round \(round): batch counters \(batched.counters), single \(single.counters) (\(configuration))")
      let differing = distinct.filter { batched.holds($0) != single.holds($0) }
      #expect(differing.isEmpty, "round \(round): \(differing.count) keys held by one cache only (\(configuration))")
      if batched.counters != single.counters || !differing.isEmpty { return }
    }
    let counters = single.counters
    #expect(counters.hits > 0 && counters.evictions + counters.expirations + counters.rejected > 0,
            "the sequence must hit and run out of room")
    batched.checkInvariants()
  }

  @Test func generationRecomputesAfterEveryChangeWhileTargetedKeepsUnrelatedEntries() throws {
    let policies = [
      Policy(selector: selector("10.0.0.0/8", "0.0.0.0/0"), priority: 10, direction: .out),
      Policy(selector: selector("192.168.0.0/16", "0.0.0.0/0"), priority: 10, direction: .out),
    ]
    let flows = (0..<100).map { flow("10.0.0.\($0)", "1.1.1.1") }
    var results: [CacheInvalidation: FlowCacheCounters] = [:]
    for invalidation in CacheInvalidation.allCases {
      let configuration = try FlowCacheConfiguration(capacity: 1024, associativity: 4, invalidation: invalidation)
      let cache = FlowCache(base: try RadixPolicyTree(inserting: policies), configuration: configuration, seed: 42)
      for key in flows { _ = cache.lookup(key) }  // warm: 100 misses
      cache.resetCounters()
      // A change unrelated to the cached flows (a policy for 172.16/12).
      try cache.insert(Policy(selector: selector("172.16.0.0/12", "0.0.0.0/0"), priority: 1, direction: .out))
      for key in flows { #expect(cache.lookup(key).index == 1) }
      results[invalidation] = cache.counters
    }
    #expect(results[.generation]!.staleHits == 100 && results[.generation]!.hits == 0,
            "generation: every entry is recomputed after any change")
    #expect(results[.targeted]!.hits == 100 && results[.targeted]!.invalidations == 0,
            "targeted: unrelated entries survive")
    // A related change: targeted invalidates exactly the entries it could affect.
    let configuration = try FlowCacheConfiguration(capacity: 1024, associativity: 4, invalidation: .targeted)
    let cache = FlowCache(base: try RadixPolicyTree(inserting: policies), configuration: configuration, seed: 42)
    for key in flows { _ = cache.lookup(key) }
    for i in 0..<50 { _ = cache.lookup(flow("192.168.0.\(i)", "1.1.1.1")) }
    // A fixed seed: with a random one, five of these 150 flows can land in one 4-way set and
    // evict each other, and the count below would be off by the evicted ones.
    #expect(cache.counters.evictions == 0, "the warm-up must keep every flow")
    cache.resetCounters()
    let better = try cache.insert(Policy(selector: selector("10.0.0.0/25", "0.0.0.0/0"), priority: 1, direction: .out))
    #expect(cache.counters.invalidations == 100, "only the 10/8 flows the new policy matches")
    for key in flows { #expect(cache.lookup(key).index == better) }
  }

  /// Generation stamps are 16 bits: 65,535 changes bring the generation back to a value an
  /// old entry carries (the counter skips 0), and 65,536 to it for a counter that does not.
  /// The wrap must forget every entry, or one computed before a policy that now matches its
  /// flow would be served as current. Two flows, cached together and not looked up since,
  /// are checked after 65,535 and after 65,536 changes.
  @Test func aWrappedGenerationServesNoOldAnswer() throws {
    let configuration = try FlowCacheConfiguration(capacity: 64, associativity: 4, invalidation: .generation)
    let cache = FlowCache(base: LinearPolicyTable(), configuration: configuration)
    let first = flow("10.0.0.1", "1.1.1.1"), second = flow("10.0.0.2", "1.1.1.1")
    #expect(!cache.lookup(first).matched && !cache.lookup(second).matched)  // cached: no match
    let matching = try cache.insert(Policy(selector: selector("10.0.0.0/8", "0.0.0.0/0"), priority: 10, direction: .out))
    let unrelated = Policy(selector: selector("172.16.0.0/12", "0.0.0.0/0"), priority: 10, direction: .out)
    var removal: UInt32? = nil
    for _ in 0..<65_534 {  // changes 2 ... 65,535: alternately insert and remove `unrelated`
      if let id = removal { try cache.remove(id); removal = nil } else { removal = try cache.insert(unrelated) }
    }
    #expect(cache.lookup(first).index == matching, "after 65,535 changes")
    if let id = removal { try cache.remove(id) } else { _ = try cache.insert(unrelated) }  // change 65,536
    #expect(cache.lookup(second).index == matching, "after 65,536 changes")
    #expect(cache.counters.invalidations >= 65_536)
  }

  @Test(arguments: CacheReplacement.allCases)
  func floodsStayWithinTheConfiguredSize(replacement: CacheReplacement) throws {
    let configuration = try FlowCacheConfiguration(capacity: 512, associativity: 4, replacement: replacement,
                                                   idleTimeout: 10)
    let cache = FlowCache(base: LinearPolicyTable(), configuration: configuration)
    var rng = SeededGenerator(seed: 11)
    for i in 0..<(10 * 512) {
      if i % 512 == 0 { cache.advanceClock(to: UInt32(i / 512 * 20)) }
      _ = cache.lookup(FlowKey(source: IPAddress(ipv4: UInt32.random(in: 0...UInt32.max, using: &rng)),
                               destination: IPAddress(ipv4: UInt32(i)), sourcePort: UInt16(i & 0xFFFF), proto: 6))
    }
    let counters = cache.counters
    // The cache's storage is allocated once at its configured size (`cacheBytes` is computed
    // from the configuration, so it is not re-checked here): what a flood could grow is the
    // number of entries held.
    #expect(cache.cachedEntries <= 512)
    #expect(counters.misses == 10 * 512)
    // Every refused or displaced entry is accounted for.
    #expect(counters.inserts - counters.evictions - counters.expirations == cache.cachedEntries)
    #expect(counters.inserts + counters.rejected == counters.misses)
  }

  @Test func idleEntriesExpire() throws {
    let configuration = try FlowCacheConfiguration(capacity: 64, associativity: 4, replacement: .idleTimeout,
                                                   idleTimeout: 5)
    let cache = FlowCache(base: LinearPolicyTable(), configuration: configuration)
    let key = flow("1.1.1.1", "2.2.2.2")
    _ = cache.lookup(key)
    cache.advanceClock(to: 5)
    _ = cache.lookup(key)
    #expect(cache.counters.hits == 1, "idle for exactly the timeout: still live")
    cache.advanceClock(to: 11)
    _ = cache.lookup(key)
    #expect(cache.counters.expirations == 1 && cache.counters.misses == 2)
  }

  @Test func badConfigurationsAreTypedErrors() {
    #expect(throws: LookupError.self) { try FlowCacheConfiguration(capacity: 1000) }
    #expect(throws: LookupError.self) { try FlowCacheConfiguration(capacity: 1024, associativity: 3) }
    #expect(throws: LookupError.self) { try FlowCacheConfiguration(capacity: 1024, associativity: 16) }
    #expect(throws: Never.self) { try FlowCacheConfiguration(capacity: 1024, associativity: 16, replacement: .directMapped) }
  }

  /// The cache compares and stores keys as `CacheKeyWords`: every field must reach the words
  /// (a field left out would make two different flows share one answer), and the words must
  /// give the key back (targeted invalidation asks the base about the key they hold).
  @Test func cacheWordsHoldEveryFieldAndRoundTrip() {
    var generator = SplitMix64(seed: 41)
    func random<T: FixedWidthInteger>(_: T.Type) -> T { T(truncatingIfNeeded: generator.next()) }
    for _ in 0..<500 {
      let ipv6 = generator.next() & 1 == 0
      let source = ipv6 ? IPAddress(ipv6: UInt128(generator.next()) << 64 | UInt128(generator.next()))
        : IPAddress(ipv4: random(UInt32.self))
      let destination = ipv6 ? IPAddress(ipv6: UInt128(generator.next()) << 64 | UInt128(generator.next()))
        : IPAddress(ipv4: random(UInt32.self))
      let key = FlowKey(source: source, destination: destination, sourcePort: random(UInt16.self),
                        destinationPort: random(UInt16.self), proto: random(UInt8.self),
                        direction: PolicyDirection.allCases[Int(generator.next() % 3)],
                        policyType: PolicyType.allCases[Int(generator.next() % 2)],
                        mark: random(UInt32.self), interfaceID: random(UInt32.self), ifindex: random(UInt32.self),
                        dscp: random(UInt8.self) & 63, namespace: random(UInt32.self))
      #expect(FlowKey(cacheWords: key.cacheWords) == key)
      // An IPv4 flow is a head alone (the fast path); random IPv6 addresses need the tail.
      #expect(key.cacheWords.hasTail == ipv6)
      var changed: [FlowKey] = []
      func with(_ change: (inout FlowKey) -> Void) { var other = key; change(&other); changed.append(other) }
      with { $0.source ^= 1 << 100 }
      with { $0.source ^= 1 }
      with { $0.destination ^= 1 << 127 }
      with { $0.destination ^= 1 << 3 }
      with { $0.sourcePort ^= 1 }
      with { $0.destinationPort ^= 0x8000 }
      with { $0.proto ^= 0x80 }
      with { $0.dscp ^= 1 }
      with { $0.mark ^= 1 << 31 }
      with { $0.interfaceID ^= 1 }
      with { $0.ifindex ^= 1 << 16 }
      with { $0.namespace ^= 1 }
      with { $0.family = $0.family == .ipv4 ? .ipv6 : .ipv4 }
      with { $0.direction = $0.direction == .in ? .fwd : .in }
      with { $0.policyType = $0.policyType == .main ? .sub : .main }
      for other in changed {
        #expect(other != key)
        #expect(other.cacheWords != key.cacheWords, "a field does not reach the cache words: \(other)")
        #expect(FlowKey(cacheWords: other.cacheWords) == other)
      }
      // An IPv6 flow whose addresses fit in their top 32 bits has no tail either: its family
      // keeps it apart from the IPv4 flow with the same bits.
      var narrow = key
      narrow.source &= 0xffff_ffff << 96
      narrow.destination &= 0xffff_ffff << 96
      narrow.family = .ipv6
      var narrowIPv4 = narrow
      narrowIPv4.family = .ipv4
      #expect(!narrow.cacheWords.hasTail && !narrowIPv4.cacheWords.hasTail)
      #expect(narrow.cacheWords != narrowIPv4.cacheWords)
      #expect(FlowKey(cacheWords: narrow.cacheWords) == narrow)
      #expect(FlowKey(cacheWords: narrowIPv4.cacheWords) == narrowIPv4)
      let sa = SALookupKey(destination: destination, source: source, spi: random(UInt32.self),
                           proto: IPsecProtocol.allCases[Int(generator.next() % 3)], mark: random(UInt32.self),
                           namespace: random(UInt32.self))
      #expect(SALookupKey(cacheWords: sa.cacheWords) == sa)
      #expect(sa.cacheWords.hasTail == ipv6)
      var otherSA = sa
      otherSA.proto = sa.proto == .esp ? .ah : .esp
      #expect(otherSA.cacheWords != sa.cacheWords)
      otherSA = sa
      otherSA.family = sa.family == .ipv4 ? .ipv6 : .ipv4
      #expect(otherSA.cacheWords != sa.cacheWords)
    }
  }

  /// LRU evicts the least recently used way of a set (hits and inserts both count as uses),
  /// checked against a model of the set after every lookup. (It once evicted the most
  /// recently used way whenever that way held the cache's latest use: the stamps were
  /// compared as stamp minus counter, which is 0 — the minimum — for the newest.)
  @Test(arguments: [2, 4, 8])
  func lruEvictsTheLeastRecentlyUsedWay(ways: Int) throws {
    // One set: every key lands in it.
    let cache = FlowCache(base: LinearPolicyTable(),
                          configuration: try FlowCacheConfiguration(capacity: ways, associativity: ways, replacement: .lru))
    func key(_ n: UInt32) -> FlowKey {
      FlowKey(source: IPAddress(ipv4: 0x0a00_0000 | n), destination: IPAddress(ipv4: 0xc0a8_0001), sourcePort: UInt16(n))
    }
    // A model of the set: keys from least to most recently used.
    var recency: [UInt32] = []
    var random = SeededGenerator(seed: UInt64(ways))
    var next: UInt32 = 0
    for _ in 0..<400 {
      let n: UInt32
      if recency.count == ways && Bool.random(using: &random) {
        n = recency.randomElement(using: &random)!  // a hit
      } else {
        n = next  // a miss: evicts the least recent once the set is full
        next += 1
      }
      _ = cache.lookup(key(n))
      if let position = recency.firstIndex(of: n) {
        recency.remove(at: position)
      } else if recency.count == ways {
        recency.removeFirst()
      }
      recency.append(n)
      for held in recency { #expect(cache.holds(key(held)), "\(ways) ways: \(held) should be held, order \(recency)") }
      #expect(cache.cachedEntries == recency.count)
      cache.checkInvariants()
    }
  }

  /// LRU's 16-bit use stamps stay in order across the counter's wrap: the set's ways are
  /// used last at counter values 65,534, 65,535, 0 and 1, and the way stamped 65,534 — the
  /// largest raw stamp, but the oldest use — is the one a new key evicts. (Compared as raw
  /// values, the way stamped 0 would go.)
  @Test func lruStampsKeepTheirOrderAcrossTheCounterWrap() throws {
    let cache = FlowCache(base: LinearPolicyTable(),
                          configuration: try FlowCacheConfiguration(capacity: 4, associativity: 4, replacement: .lru))
    func key(_ n: UInt32) -> FlowKey {
      FlowKey(source: IPAddress(ipv4: 0x0a00_0000 | n), destination: IPAddress(ipv4: 0xc0a8_0001), sourcePort: UInt16(n))
    }
    for n: UInt32 in 0..<4 { _ = cache.lookup(key(n)) }  // four inserts: uses 1...4
    // Hits on key 3 bring the counter to 65,533; then keys 0, 1, 2, 3 are used in turn at
    // 65,534, 65,535, 0 (the wrap) and 1.
    for _ in 0..<(65_533 - 4) { _ = cache.lookup(key(3)) }
    for n: UInt32 in 0..<4 { _ = cache.lookup(key(n)) }
    #expect(cache.counters.hits == 65_533 - 4 + 4 && cache.counters.evictions == 0)
    _ = cache.lookup(key(4))  // a miss: evicts the least recently used, key 0
    #expect(!cache.holds(key(0)), "the oldest use (stamped 65,534 before the wrap) must go")
    for n: UInt32 in 1...4 { #expect(cache.holds(key(n)), "key \(n) was used after key 0") }
    cache.checkInvariants()
  }

  /// `holds` answers without changing anything; a flow it says is held hits.
  @Test func holdsIsAPureProbe() throws {
    let cache = FlowCache(base: LinearPolicyTable(), configuration: try FlowCacheConfiguration(capacity: 16, associativity: 4))
    let key = FlowKey(source: IPAddress(ipv4: 0x0a00_0001), destination: IPAddress(ipv4: 0x0a00_0002))
    #expect(!cache.holds(key))
    _ = cache.lookup(key)
    let before = cache.counters
    #expect(cache.holds(key))
    #expect(cache.counters == before)
    _ = cache.lookup(key)
    #expect(cache.counters.hits == before.hits + 1)
  }
}
