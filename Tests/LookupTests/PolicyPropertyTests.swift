import Testing
import Lookup

/// A brute-force SPD written independently of the library's matcher: it tests each field
/// straight from SEMANTICS.md with plain integer arithmetic and picks the winner by sorting.
struct BruteForceSPD {
  struct Entry {
    var policy: Policy
    var age: Int
  }
  var entries: [Entry] = []
  var nextAge = 0
  var defaults = DefaultActions()

  static func inPrefix(_ address: UInt128, _ prefix: AddressPrefix) -> Bool {
    let length = Int(prefix.length)
    if length == 0 { return true }
    // Compare the top `length` bits, one bit at a time from the most significant.
    for bit in 0..<length {
      let shift = UInt128(127 - bit)
      if (address >> shift) & 1 != (prefix.address.bits >> shift) & 1 { return false }
    }
    return true
  }

  static func portMatches(_ port: UInt16, _ selector: PortSelector) -> Bool {
    if let (value, mask) = selector.valueMask { return (port ^ value) & mask == 0 }
    return selector.range!.contains(port)
  }

  static func matches(_ p: Policy, _ f: FlowKey) -> Bool {
    let s = p.selector
    return s.family == f.family && p.direction == f.direction && p.type == f.policyType
      && p.interfaceID == f.interfaceID && (f.mark & p.mark.mask) == p.mark.value
      && inPrefix(f.destination, s.destination) && inPrefix(f.source, s.source)
      && portMatches(f.sourcePort, s.sourcePort) && portMatches(f.destinationPort, s.destinationPort)
      && (s.proto.number == nil || s.proto.number == f.proto)
      && (s.ifindex == 0 || s.ifindex == f.ifindex)
      && (s.dscp.value == nil || s.dscp.value == f.dscp)
  }

  func lookup(_ f: FlowKey) -> PolicyLookupResult {
    let winners = entries.filter { Self.matches($0.policy, f) }
      .sorted { ($0.policy.priority, $0.age) < ($1.policy.priority, $1.age) }
    guard let best = winners.first else { return .noMatch(defaults[f.direction]) }
    return PolicyLookupResult(index: best.policy.index, action: best.policy.action)
  }

  /// Mirrors add: fails when the identity exists.
  mutating func add(_ p: Policy) -> Bool {
    if entries.contains(where: { $0.policy.identity == p.identity }) { return false }
    entries.append(Entry(policy: p, age: nextAge))
    nextAge += 1
    return true
  }

  /// Mirrors update: replace (new age, same index) or add.
  mutating func update(_ p: Policy) {
    if let i = entries.firstIndex(where: { $0.policy.identity == p.identity }) {
      var replacement = p
      replacement.index = entries[i].policy.index
      entries[i] = Entry(policy: replacement, age: nextAge)
    } else {
      entries.append(Entry(policy: p, age: nextAge))
    }
    nextAge += 1
  }

  mutating func remove(index: UInt32) {
    entries.removeAll { $0.policy.index == index }
  }
}

/// Random policy sets built to collide: few distinct prefixes, priorities and marks, so that
/// overlaps, equal priorities and duplicates are common.
struct RandomPolicies {
  var rng: SeededGenerator
  let family: AddressFamily

  init(seed: UInt64, family: AddressFamily) {
    rng = SeededGenerator(seed: seed)
    self.family = family
  }

  /// Addresses drawn from a small pool so prefixes nest and flows hit them.
  mutating func address() -> UInt128 {
    let pool: [UInt128] = family == .ipv4
      ? [0x0A00_0000, 0x0A01_0000, 0x0A01_0200, 0xC0A8_0101, 0xC0A8_0102, 0x0A01_02FF].map { UInt128($0) << 96 }
      : [0x2001_0DB8, 0x2001_0DB9, 0xFE80_0000].map { UInt128($0) << 96 }
    var base = pool[Int.random(in: 0..<pool.count, using: &rng)]
    if Bool.random(using: &rng) {
      let width = family.addressWidth
      base ^= UInt128(UInt64.random(in: 0..<4, using: &rng)) << UInt128(128 - width)  // last bits of the address
    }
    return base
  }

  mutating func prefix() -> AddressPrefix {
    let width = family.addressWidth
    let lengths = family == .ipv4 ? [0, 8, 16, 24, 30, 32] : [0, 16, 32, 48, 64, 126, 128]
    let length = lengths[Int.random(in: 0..<lengths.count, using: &rng)]
    return try! AddressPrefix(address: IPAddress(bits: address() & IPAddress.mask(length: width), family: family),
                              length: length)
  }

  mutating func port() -> PortSelector {
    switch Int.random(in: 0..<6, using: &rng) {
    case 0, 1: return .any
    case 2: return .exactly(UInt16.random(in: 0..<4, using: &rng) * 100)
    case 3: return PortSelector(value: UInt16.random(in: 0..<4, using: &rng) * 64, mask: 0xFFC0)
    case 4: return PortSelector(value: 1, mask: 1)  // a non-contiguous mask
    default:
      let low = UInt16.random(in: 0..<300, using: &rng)
      return try! PortSelector(low: low, high: low + UInt16.random(in: 0..<200, using: &rng))
    }
  }

  mutating func policy() -> Policy {
    let protos: [ProtocolSelector] = [.any, .any, .number(6), .number(17), .number(1)]
    let sel = try! PolicySelector(source: prefix(), destination: prefix(), sourcePort: port(), destinationPort: port(),
                                  proto: protos[Int.random(in: 0..<protos.count, using: &rng)],
                                  ifindex: Bool.random(using: &rng) ? 0 : UInt32.random(in: 1...2, using: &rng),
                                  dscp: Int.random(in: 0..<4, using: &rng) == 0 ? try! DSCPSelector([0, 10, 46][Int.random(in: 0..<3, using: &rng)]) : .any)
    let marks = [MarkSelector.any, .any, MarkSelector(value: 1, mask: 1), MarkSelector(value: 0x10, mask: 0xF0)]
    return Policy(selector: sel, priority: UInt32.random(in: 0..<4, using: &rng),
                  direction: Int.random(in: 0..<4, using: &rng) == 0 ? .in : .out,
                  type: Int.random(in: 0..<8, using: &rng) == 0 ? .sub : .main,
                  action: Bool.random(using: &rng) ? .allow : .block,
                  mark: marks[Int.random(in: 0..<marks.count, using: &rng)],
                  interfaceID: Int.random(in: 0..<5, using: &rng) == 0 ? 1 : 0)
  }

  mutating func flow() -> FlowKey {
    let protos: [UInt8] = [6, 17, 1, 50]
    var key = FlowKey(source: IPAddress(bits: address(), family: family),
                      destination: IPAddress(bits: address(), family: family),
                      sourcePort: UInt16.random(in: 0..<400, using: &rng),
                      destinationPort: UInt16.random(in: 0..<400, using: &rng),
                      proto: protos[Int.random(in: 0..<protos.count, using: &rng)],
                      direction: Int.random(in: 0..<4, using: &rng) == 0 ? .in : .out)
    key.policyType = Int.random(in: 0..<8, using: &rng) == 0 ? .sub : .main
    key.mark = [0, 1, 0x13, 0x20][Int.random(in: 0..<4, using: &rng)]
    key.interfaceID = Int.random(in: 0..<5, using: &rng) == 0 ? 1 : 0
    key.ifindex = UInt32.random(in: 0...2, using: &rng)
    key.dscp = [0, 10, 46, 63][Int.random(in: 0..<4, using: &rng)]
    return key
  }
}

@Suite("SPD property tests")
struct PolicyPropertyTests {
  /// Random sets with random interleaved adds, updates and removes; after every batch the
  /// structure answers like the brute-force oracle on random flows.
  @Test(arguments: StructureCatalog.policyDatabaseNames, [AddressFamily.ipv4, .ipv6])
  func agreesWithBruteForceUnderRandomChanges(name: String, family: AddressFamily) throws {
    for seed in 1...12 as ClosedRange<UInt64> {
      let database = try StructureCatalog.makePolicyDatabase(named: name)
      try exercise(database, seed: seed, family: family)
    }
  }

  /// One random history against one structure (generic, so the structure's own code runs).
  func exercise<D: PolicyDatabase>(_ empty: D, seed: UInt64, family: AddressFamily) throws {
    var database = empty
    var random = RandomPolicies(seed: seed &* 7919 &+ UInt64(family.rawValue), family: family)
    var oracle = BruteForceSPD()
    if seed % 3 == 0 {
      database.defaultActions = DefaultActions(inbound: .block, outbound: .block, forward: .allow)
      oracle.defaults = database.defaultActions
    }
    var live: [UInt32] = []
    for _ in 0..<8 {
      for _ in 0..<25 {
        switch Int.random(in: 0..<10, using: &random.rng) {
        case 0...5:
          var candidate = random.policy()
          let result: Result<UInt32, LookupError> = Result { () throws(LookupError) -> UInt32 in
            try database.insert(candidate)
          }
          switch result {
          case .success(let index):
            candidate.index = index
            let accepted = oracle.add(candidate)
            #expect(accepted, "structure accepted a duplicate")
            live.append(index)
          case .failure(let error):
            #expect(error == .policyExists(existingIndex: oracle.entries.first { $0.policy.identity == candidate.identity }?.policy.index ?? 0))
          }
        case 6, 7:
          // Replace an existing policy (same identity, new priority/action) or add.
          var candidate = oracle.entries.randomElement(using: &random.rng)?.policy ?? random.policy()
          candidate.priority = UInt32.random(in: 0..<4, using: &random.rng)
          candidate.action = Bool.random(using: &random.rng) ? .allow : .block
          let index = try database.update(candidate)
          if candidate.index == 0 {
            candidate.index = index
            live.append(index)
          }
          #expect(candidate.index == index)
          oracle.update(candidate)
        default:
          guard let victim = live.randomElement(using: &random.rng) else { continue }
          live.removeAll { $0 == victim }
          try database.remove(victim)
          oracle.remove(index: victim)
        }
      }
      #expect(database.count == oracle.entries.count)
      (database as? any SlotIndexedPolicyDatabase)?.checkInvariants()
      var keys: [FlowKey] = []
      for _ in 0..<300 {
        let key = random.flow()
        keys.append(key)
        let expected = oracle.lookup(key)
        let got = database.lookup(key)
        #expect(got == expected, "seed \(seed): \(key) → \(got), expected \(expected)")
        if got != expected { return }
      }
      // The same flows as one batch (several bursts, mixed directions).
      var batched = [PolicyLookupResult](repeating: .noMatch(.allow), count: keys.count)
      keys.withUnsafeBufferPointer { k in batched.withUnsafeMutableBufferPointer { database.lookup(k, into: $0) } }
      let wrong = keys.indices.filter { batched[$0] != oracle.lookup(keys[$0]) }
      #expect(wrong.isEmpty, "seed \(seed): \(wrong.count) batch lookups differ from the oracle")
    }
  }

  /// The tuple space table with its grouped batch search forced on (it starts at 32k
  /// policies otherwise), against the oracle under random changes.
  @Test(arguments: [AddressFamily.ipv4, .ipv6])
  func groupedBatchSearchAgreesWithBruteForce(family: AddressFamily) throws {
    for seed in 1...12 as ClosedRange<UInt64> {
      try exercise(TupleSpaceTable(groupSearchFrom: 0), seed: seed, family: family)
    }
  }

  /// The hashed table under thresholds other than the kernel's defaults, and with its exact
  /// part's grouped batch search forced on, against the oracle under random changes: the
  /// `.thresholds` exact table then sees inserts, replacements and removals of policies it
  /// keys on fewer bits than their prefixes (the catalog's `hashed` uses the defaults only).
  @Test(arguments: [AddressFamily.ipv4, .ipv6])
  func hashedUnderOtherThresholdsAgreesWithBruteForce(family: AddressFamily) throws {
    let choices: [HashThresholds] = [
      try HashThresholds(ipv4Local: 0, ipv4Remote: 0, ipv6Local: 0, ipv6Remote: 0),
      try HashThresholds(ipv4Local: 16, ipv4Remote: 24, ipv6Local: 32, ipv6Remote: 64),
      try HashThresholds(ipv4Local: 30, ipv4Remote: 8, ipv6Local: 126, ipv6Remote: 16),
    ]
    for seed in 1...12 as ClosedRange<UInt64> {
      let thresholds = choices[Int(seed) % choices.count]
      try exercise(HashedSelectorTable(thresholds: thresholds), seed: seed, family: family)
      try exercise(HashedSelectorTable(thresholds: thresholds, groupSearchFrom: 0), seed: seed &+ 100, family: family)
    }
  }

  /// Batch lookup answers exactly what single lookups answer — for every catalog structure,
  /// and with the grouped batch searches forced on (below 32k policies the catalog's
  /// tuple space and hashed tables take bursts key by key, through the single search).
  @Test(arguments: StructureCatalog.policyDatabaseNames + ["tuplespace, grouped", "hashed, grouped"])
  func batchLookupEqualsSingleLookups(name: String) throws {
    var random = RandomPolicies(seed: 99, family: .ipv4)
    var database: any PolicyDatabase = switch name {
    case "tuplespace, grouped": TupleSpaceTable(groupSearchFrom: 0)
    case "hashed, grouped": HashedSelectorTable(thresholds: .kernelDefault, groupSearchFrom: 0)
    default: try StructureCatalog.makePolicyDatabase(named: name)
    }
    for _ in 0..<200 { _ = try? database.insert(random.policy()) }
    let keys = (0..<1000).map { _ in random.flow() }
    var results = [PolicyLookupResult](repeating: .noMatch(.allow), count: keys.count)
    keys.withUnsafeBufferPointer { k in results.withUnsafeMutableBufferPointer { database.lookup(k, into: $0) } }
    #expect(results == keys.map { database.lookup($0) })
  }
}
