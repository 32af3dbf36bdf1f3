import Testing
import Lookup

/// Policies built to stress the tries: prefixes of every length (including /0 and host
/// routes) around a few bases so they nest and split each other's edges, host bits set,
/// equal priorities, marks, if_ids, port masks and ranges; both families in one structure.
struct NestedPolicies {
  var rng: SeededGenerator
  /// Drawn from uniformly (repeat a family to weight it).
  let families: [AddressFamily]

  init(seed: UInt64, families: [AddressFamily] = [.ipv4, .ipv4, .ipv6]) {
    rng = SeededGenerator(seed: seed)
    self.families = families
  }

  static let v4Bases: [UInt128] = [0x0A00_0000, 0x0A01_0203, 0x0AFF_0000, 0xC0A8_0101, 0x8000_0000, 0x0000_0000]
    .map { UInt128($0) << 96 }
  static let v6Bases: [UInt128] = [0x2001_0DB8_0000_0000 << 64, 0x2001_0DB8_0001_0000 << 64 | 0x1,
                                   0xFE80_0000_0000_0000 << 64, UInt128.max, 0]

  mutating func family() -> AddressFamily { families[Int.random(in: 0..<families.count, using: &rng)] }

  /// An address near a base: a few random bits flipped at a random depth.
  mutating func address(_ family: AddressFamily) -> UInt128 {
    let bases = family == .ipv4 ? Self.v4Bases : Self.v6Bases
    let width = family.addressWidth
    var bits = bases[Int.random(in: 0..<bases.count, using: &rng)]
    for _ in 0..<Int.random(in: 0...2, using: &rng) {
      bits ^= UInt128(1) << UInt128(128 - Int.random(in: 1...width, using: &rng))
    }
    return bits & IPAddress.mask(length: width)
  }

  mutating func prefix(_ family: AddressFamily) -> AddressPrefix {
    let width = family.addressWidth
    let length: Int
    switch Int.random(in: 0..<6, using: &rng) {
    case 0: length = 0
    case 1: length = width
    default: length = Int.random(in: 0...width, using: &rng)
    }
    // Host bits stay as written (random ones beyond the length, sometimes).
    return try! AddressPrefix(address: IPAddress(bits: address(family), family: family), length: length)
  }

  mutating func port() -> PortSelector {
    switch Int.random(in: 0..<5, using: &rng) {
    case 0, 1: return .any
    case 2: return .exactly(UInt16.random(in: 0..<3, using: &rng))
    case 3: return PortSelector(value: UInt16.random(in: 0..<4, using: &rng), mask: 0x0003)
    default:
      let low = UInt16.random(in: 0..<4, using: &rng)
      return try! PortSelector(low: low, high: low + UInt16.random(in: 0..<3, using: &rng))
    }
  }

  mutating func policy() -> Policy {
    let family = family()
    let sel = try! PolicySelector(source: prefix(family), destination: prefix(family), sourcePort: port(),
                                  destinationPort: port(),
                                  proto: [.any, .any, .number(6), .number(17)][Int.random(in: 0..<4, using: &rng)])
    let marks = [MarkSelector.any, .any, MarkSelector(value: 1, mask: 1), MarkSelector(value: 0x10, mask: 0xF0)]
    return Policy(selector: sel, priority: UInt32.random(in: 0..<3, using: &rng),
                  direction: [.out, .out, .in, .fwd][Int.random(in: 0..<4, using: &rng)],
                  type: Int.random(in: 0..<6, using: &rng) == 0 ? .sub : .main,
                  action: Bool.random(using: &rng) ? .allow : .block,
                  mark: marks[Int.random(in: 0..<marks.count, using: &rng)],
                  interfaceID: Int.random(in: 0..<4, using: &rng) == 0 ? UInt32.random(in: 1...2, using: &rng) : 0)
  }

  mutating func flow() -> FlowKey {
    let family = family()
    return FlowKey(source: IPAddress(bits: address(family), family: family),
                   destination: IPAddress(bits: address(family), family: family),
                   sourcePort: UInt16.random(in: 0..<6, using: &rng), destinationPort: UInt16.random(in: 0..<6, using: &rng),
                   proto: [6, 17, 1][Int.random(in: 0..<3, using: &rng)],
                   direction: [.out, .out, .in, .fwd][Int.random(in: 0..<4, using: &rng)],
                   policyType: Int.random(in: 0..<6, using: &rng) == 0 ? .sub : .main,
                   mark: [0, 1, 0x13][Int.random(in: 0..<3, using: &rng)],
                   interfaceID: Int.random(in: 0..<4, using: &rng) == 0 ? UInt32.random(in: 1...2, using: &rng) : 0)
  }
}

/// A pair of structures fed the same history: the radix tree and the reference.
struct RadixAndReference {
  var radix = RadixPolicyTree()
  var reference = LinearPolicyTable()

  /// Inserts into both; both must accept or refuse alike.
  mutating func insert(_ policy: Policy) -> UInt32? {
    let a = Result { () throws(LookupError) in try radix.insert(policy) }
    let b = Result { () throws(LookupError) in try reference.insert(policy) }
    #expect(a == b)
    return try? a.get()
  }

  mutating func update(_ policy: Policy) -> UInt32 {
    let a = try! radix.update(policy), b = try! reference.update(policy)
    #expect(a == b)
    return a
  }

  mutating func remove(_ index: UInt32) -> Policy {
    let a = try! radix.remove(index), b = try! reference.remove(index)
    #expect(a == b)
    return a
  }

  /// The number of keys on which the two disagree (each disagreement also recorded).
  func disagreements(_ keys: [FlowKey], _ note: String) -> Int {
    var wrong = 0
    for key in keys {
      let got = radix.lookup(key), expected = reference.lookup(key)
      if got != expected {
        wrong += 1
        if wrong <= 5 { Issue.record("\(note): \(key) → \(got), expected \(expected)") }
      }
    }
    return wrong
  }
}

@Suite("RadixPolicyTree")
struct RadixPolicyTreeTests {
  static let classBenchSets = ["acl1_1k", "fw1_1k", "ipc1_1k"]

  /// Every shipped ClassBench set against the reference on every header; then a random 30 %
  /// removed (three batches) and half of them re-inserted (three batches), every header
  /// checked and the invariants walked after each batch.
  @Test(arguments: classBenchSets) func classBenchAgreesWithLinearThroughRemovalsAndReinserts(set: String) throws {
    let rules = try ClassBenchFormat.readRules(path: "\(shippedData)/\(set).rules")
    let keys = try ClassBenchFormat.readTrace(path: "\(shippedData)/\(set).trace").map { $0.flowKey() }
    var pair = RadixAndReference()
    for policy in try rules.policies() { #expect(pair.insert(policy) != nil) }
    pair.radix.checkInvariants()
    #expect(pair.disagreements(keys, "\(set) built") == 0)

    var rng = SeededGenerator(seed: 30)
    var victims = pair.reference.policies.map(\.index)
    victims.shuffle(using: &rng)
    victims = Array(victims.prefix(victims.count * 3 / 10))
    var removed: [Policy] = []
    for (batch, chunk) in victims.chunked(into: 3).enumerated() {
      for index in chunk { removed.append(pair.remove(index)) }
      pair.radix.checkInvariants()
      #expect(pair.radix.count == pair.reference.count)
      #expect(pair.disagreements(keys, "\(set) after removal batch \(batch)") == 0)
    }
    removed.shuffle(using: &rng)
    for (batch, chunk) in Array(removed.prefix(removed.count / 2)).chunked(into: 3).enumerated() {
      for policy in chunk { #expect(pair.insert(policy) != nil) }
      pair.radix.checkInvariants()
      #expect(pair.disagreements(keys, "\(set) after re-insert batch \(batch)") == 0)
    }
  }

  /// Random nested IPv4 and IPv6 sets under random interleaved inserts, updates and removes,
  /// compared with the reference after every batch, with the invariants walked each time.
  @Test(arguments: 1...6 as ClosedRange<UInt64>) func randomNestedSetsAgreeWithLinear(seed: UInt64) {
    var random = NestedPolicies(seed: seed &* 0x9E37)
    var pair = RadixAndReference()
    var live: [UInt32] = []
    for batch in 0..<30 {
      for _ in 0..<Int.random(in: 1...60, using: &random.rng) {
        switch Int.random(in: 0..<10, using: &random.rng) {
        case 0...4:
          if let index = pair.insert(random.policy()) { live.append(index) }
        case 5, 6:
          // Replace a live policy (same identity, new priority and action), or add one.
          var candidate = live.randomElement(using: &random.rng).flatMap { pair.reference.policy(index: $0) }
            ?? random.policy()
          candidate.priority = UInt32.random(in: 0..<3, using: &random.rng)
          candidate.action = Bool.random(using: &random.rng) ? .allow : .block
          let index = pair.update(candidate)
          if !live.contains(index) { live.append(index) }
        default:
          guard !live.isEmpty else { continue }
          let victim = live.remove(at: Int.random(in: 0..<live.count, using: &random.rng))
          _ = pair.remove(victim)
        }
      }
      pair.radix.checkInvariants()
      #expect(pair.radix.count == pair.reference.count)
      let keys = (0..<400).map { _ in random.flow() }
      if pair.disagreements(keys, "seed \(seed) batch \(batch)") != 0 { return }
    }
  }

  /// Sets large enough for the pool to be laid out again as it grows, under churn and as it
  /// shrinks (compaction), in each family's forest: answers and invariants hold throughout.
  @Test(arguments: [AddressFamily.ipv4, .ipv6]) func largeSetsStayCorrectThroughRelayouts(family: AddressFamily) {
    var random = NestedPolicies(seed: 77 + UInt64(family.rawValue), families: [family])
    var pair = RadixAndReference()
    var live: [UInt32] = []
    func check(_ note: String) {
      pair.radix.checkInvariants()
      #expect(pair.radix.count == pair.reference.count)
      #expect(pair.disagreements((0..<200).map { _ in random.flow() }, note) == 0)
    }
    while live.count < 6000 {
      if let index = pair.insert(random.policy()) { live.append(index) }
      if live.count % 1500 == 0 { check("growing to \(live.count)") }
    }
    let nodes = pair.radix.statistics["destination nodes"]! + pair.radix.statistics["source nodes"]!
    #expect(nodes > 3 * 4096 / 2, "large enough to be laid out (\(nodes) nodes)")
    for round in 0..<4 {
      for _ in 0..<1500 {
        if Bool.random(using: &random.rng) {
          var candidate = pair.reference.policy(index: live.randomElement(using: &random.rng)!)!
          candidate.priority = UInt32.random(in: 0..<3, using: &random.rng)
          _ = pair.update(candidate)
        } else {
          _ = pair.remove(live.remove(at: Int.random(in: 0..<live.count, using: &random.rng)))
          if let index = pair.insert(random.policy()) { live.append(index) }
        }
      }
      check("churn round \(round)")
    }
    live.shuffle(using: &random.rng)
    while live.count > 500 {
      _ = pair.remove(live.removeLast())
      if live.count % 1500 == 0 { check("shrinking to \(live.count)") }
    }
    check("shrunk")
  }

  /// Deleting everything returns every node and list word and releases the storage; on the
  /// way down (which compacts the storage several times) answers stay the reference's.
  @Test func memoryReturnsAfterRemovingEverything() throws {
    var random = NestedPolicies(seed: 5000)
    var pair = RadixAndReference()
    let empty = pair.radix.statistics["index bytes"]!
    var indexes: [UInt32] = []
    while indexes.count < 5000 {
      if let index = pair.insert(random.policy()) { indexes.append(index) }
    }
    let peak = pair.radix.statistics["index bytes"]!
    #expect(pair.radix.statistics["destination nodes"]! > 0 && pair.radix.statistics["source nodes"]! > 0)
    indexes.shuffle(using: &random.rng)
    for (i, index) in indexes.enumerated() {
      _ = pair.remove(index)
      if i % 1250 == 1249 {
        pair.radix.checkInvariants()
        let keys = (0..<300).map { _ in random.flow() }
        #expect(pair.disagreements(keys, "after \(i + 1) removals") == 0)
      }
      if i == 3 * indexes.count / 4 {
        // Nodes and list words are compacted; the per-slot holder map (4 bytes per slot
        // number, like the registry's own per-slot arrays) stays until the forest empties.
        let map = pair.radix.statistics["holder map bytes"]!
        #expect(pair.radix.statistics["index bytes"]! - map < peak / 2, "compacted")
      }
    }
    pair.radix.checkInvariants()
    #expect(pair.radix.statistics["destination nodes"] == 0)
    #expect(pair.radix.statistics["source nodes"] == 0)
    #expect(pair.radix.statistics["list words"] == 0)
    #expect(pair.radix.statistics["index bytes"] == empty)
  }

  /// Edge splits, a prefix inserted above an existing node, and merges on removal, counted.
  @Test func edgesSplitAndMerge() throws {
    var tree = RadixPolicyTree()
    func nodes() -> (Int, Int) { (tree.statistics["destination nodes"]!, tree.statistics["source nodes"]!) }
    func add(_ destination: String, _ source: String = "0.0.0.0/0", priority: UInt32 = 1) throws -> UInt32 {
      try tree.insert(Policy(selector: selector(source, destination), priority: priority, direction: .out))
    }
    let a = try add("10.1.0.0/16")
    #expect(nodes() == (1, 0))  // a destination prefix's only policy: held by its node directly
    let b = try add("10.2.0.0/16")  // diverges at bit 14: a branch 10.0.0.0/14 plus a leaf
    #expect(nodes() == (3, 0))
    let c = try add("10.0.0.0/8")  // above the branch
    #expect(nodes() == (4, 0))
    let d = try add("10.1.2.3/16", "192.168.0.0/16")  // host bits: same destination node, its second policy
    #expect(nodes() == (4, 2))  // a source trie now: 0/0 (a) with a child 192.168/16 (d)
    tree.checkInvariants()
    #expect(tree.lookup(flow("192.168.1.1", "10.1.9.9")).index == a, "older, same priority")
    #expect(tree.lookup(flow("1.1.1.1", "10.3.0.1")).index == c)
    #expect(tree.lookup(flow("1.1.1.1", "11.0.0.1")).index == 0, "outside every prefix")
    try tree.remove(c)
    #expect(nodes() == (3, 2))
    try tree.remove(a)  // 0/0 empties; its one child 192.168/16 is left alone: held directly again
    #expect(nodes() == (3, 0))
    try tree.remove(b)  // the branch goes with it: 10.1/16 alone
    #expect(nodes() == (1, 0))
    #expect(tree.lookup(flow("192.168.1.1", "10.1.9.9")).index == d)
    #expect(tree.lookup(flow("192.167.1.1", "10.1.9.9")).index == 0)
    tree.checkInvariants()
  }

  /// A destination node holds its only policy directly; a second moves both into a source
  /// trie, and the trie goes back into the node when one policy is left — whether the last
  /// removal changed the trie's minimum priority (the walk up reaches the node) or not (the
  /// walk stops at the trie's root).
  @Test func directSlotsMoveIntoAndOutOfSourceTries() throws {
    var tree = RadixPolicyTree()
    func nodes() -> (Int, Int) { (tree.statistics["destination nodes"]!, tree.statistics["source nodes"]!) }
    func add(_ source: String, priority: UInt32, port: UInt16? = nil) throws -> UInt32 {
      try tree.insert(Policy(selector: selector(source, "10.1.0.0/16", dport: port.map { .exactly($0) } ?? .any),
                             priority: priority, direction: .out))
    }
    func check(_ expected: (Int, Int), _ answers: [(String, UInt32)], _ comment: Comment) {
      #expect(nodes() == expected, comment)
      tree.checkInvariants()
      for (source, index) in answers {
        #expect(tree.lookup(flow(source, "10.1.7.7")).index == index, comment)
      }
    }
    let wide = try add("10.0.0.0/8", priority: 5)
    check((1, 0), [("10.5.1.1", wide), ("11.0.0.1", 0)], "one policy, held directly")
    let samePrefixes = try add("10.0.0.0/8", priority: 3, port: 1)
    check((1, 1), [("10.5.1.1", wide)], "two policies with the same prefixes: one source node, a list")
    try tree.remove(samePrefixes)
    check((1, 0), [("10.5.1.1", wide)], "the list back to one slot: held directly")
    let better = try add("10.5.0.0/16", priority: 1)
    check((1, 2), [("10.5.1.1", better), ("10.6.1.1", wide)], "a longer source prefix below")
    try tree.remove(better)  // the trie's minimum changes: the walk reaches the destination node
    check((1, 0), [("10.5.1.1", wide)], "collapsed at the destination node")
    let worse = try add("10.5.0.0/16", priority: 9)
    check((1, 2), [("10.5.1.1", wide)], "a longer source prefix below, worse priority")
    try tree.remove(worse)  // the minimum holds: the walk stops at the source root
    check((1, 0), [("10.5.1.1", wide), ("11.0.0.1", 0)], "collapsed at the source root")
    try tree.remove(wide)
    check((0, 0), [("10.5.1.1", 0)], "empty")
  }

  /// A path-compressed edge must not let an address through that leaves it, at any depth
  /// and in both families; host routes and /0 at once.
  @Test func compressedEdgesCompareTheirBits() throws {
    var tree = RadixPolicyTree()
    let host = try tree.insert(Policy(selector: selector("10.1.2.3/32", "10.1.2.0/24"), priority: 1, direction: .out))
    #expect(tree.lookup(flow("10.1.2.3", "10.1.2.77")).index == host)
    #expect(tree.lookup(flow("10.1.2.3", "10.1.3.77")).index == 0)
    #expect(tree.lookup(flow("10.1.2.4", "10.1.2.77")).index == 0)
    let any6 = try tree.insert(Policy(selector: selector("::/0", "::/0"), priority: 9, direction: .out))
    let host6 = try tree.insert(Policy(selector: selector("2001:db8::1/128", "2001:db8::/127"), priority: 1,
                                       direction: .out))
    #expect(tree.lookup(flow("2001:db8::1", "2001:db8::1")).index == host6)
    #expect(tree.lookup(flow("2001:db8::1", "2001:db8::2")).index == any6)
    #expect(tree.lookup(flow("2001:db8::3", "2001:db8::1")).index == any6)
    #expect(tree.lookup(flow("10.1.2.3", "10.1.2.77")).index == host, "IPv4 untouched by IPv6")
    tree.checkInvariants()
  }
}

extension Array {
  /// `parts` consecutive pieces of nearly equal size.
  func chunked(into parts: Int) -> [ArraySlice<Element>] {
    (0..<parts).map { self[count * $0 / parts ..< count * ($0 + 1) / parts] }
  }
}
