import Testing
import Lookup

/// Random SA sets drawn from small pools, so that SPIs, destinations and marks collide often.
struct RandomSAs {
  var rng: SeededGenerator

  init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

  mutating func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &rng)] }

  mutating func address(_ family: AddressFamily) -> IPAddress {
    family == .ipv4 ? pick([v4("2.2.2.2"), v4("2.2.2.3"), v4("10.0.0.1"), v4("1.1.1.1"), v4("0.0.0.0")])
                    : pick([v6("2001:db8::1"), v6("2001:db8::2"), v6("::"), v6("fe80::1")])
  }

  mutating func spi() -> UInt32 {
    Bool.random(using: &rng) ? pick([0x100, 0x101, 0x102, 0xFFFF_FFFF]) : UInt32.random(in: 256...0xFFFF_FFFF, using: &rng)
  }

  mutating func mark() -> MarkSelector {
    pick([.any, .any, MarkSelector(value: 1, mask: 0xF), MarkSelector(value: 2, mask: 0xF),
          MarkSelector(value: 0x10, mask: 0xF0), MarkSelector(value: 3, mask: 3)])
  }

  mutating func securityAssociation() -> SecurityAssociation {
    let family: AddressFamily = pick([.ipv4, .ipv4, .ipv6])
    let proto: IPsecProtocol = pick([.esp, .esp, .ah, .ipcomp])
    let spi = proto == .ipcomp ? UInt32.random(in: 1...3, using: &rng) : spi()
    let source: IPAddress? = Bool.random(using: &rng) ? address(family) : nil
    let selector: PolicySelector? = Int.random(in: 0..<4, using: &rng) == 0
      ? try! PolicySelector(source: AddressPrefix(address: address(family), length: 0),
                            destination: AddressPrefix(address: address(family), length: 0),
                            destinationPort: pick([.any, .exactly(443)]))
      : nil
    return try! SecurityAssociation(
      spi: spi, proto: proto, mode: pick([.tunnel, .transport]), reqid: pick([0, 1, 2]),
      destination: address(family), source: source, mark: mark(), interfaceID: pick([0, 0, 4]),
      selector: selector, namespace: pick([0, 0, 1, 2]), inboundMatch: pick(InboundMatch.allCases))
  }

  /// A key that often hits an SA of `sas` exactly, sometimes with one field changed.
  mutating func key(near sas: [SecurityAssociation]) -> SALookupKey {
    guard !sas.isEmpty, Int.random(in: 0..<5, using: &rng) != 0 else {
      let family: AddressFamily = pick([.ipv4, .ipv6])
      return SALookupKey(destination: address(family), source: address(family), spi: spi(),
                         proto: pick([.esp, .ah]), mark: pick([0, 1, 2, 0x13]), namespace: pick([0, 1, 2]))
    }
    let sa = pick(sas)
    var key = SALookupKey(destination: sa.destination, source: sa.source, spi: sa.spi, proto: sa.proto,
                          mark: pick([0, 1, 2, 3, 0x11, 0x12]), namespace: sa.namespace)
    switch Int.random(in: 0..<6, using: &rng) {
    case 0: key.destination = address(sa.family).bits
    case 1: key.source = address(sa.family).bits
    case 2: key.namespace = pick([0, 1, 2])
    default: break
    }
    return key
  }
}

@Suite("SAD structures agree with LinearSAD")
struct SADDifferentialTests {
  static let structures = StructureCatalog.securityAssociationDatabaseNames.filter { $0 != "sad-linear" }
  static let cases: [(String, InboundLookupMode)] = structures.flatMap { name in InboundLookupMode.allCases.map { (name, $0) } }

  @Test(arguments: cases)
  func randomChurn(name: String, mode: InboundLookupMode) throws {
    for seed in UInt64(1)...6 {
      var reference = LinearSAD(inboundMode: mode)
      var subject = try StructureCatalog.makeSecurityAssociationDatabase(named: name, inboundMode: mode)
      var random = RandomSAs(seed: seed * 7919 + (mode == .kernel ? 0 : 1))
      for round in 0..<25 {
        // A batch of changes: mostly inserts, some removals, some explicit ids.
        for _ in 0..<Int.random(in: 1...12, using: &random.rng) {
          let live = reference.securityAssociations
          if !live.isEmpty && Int.random(in: 0..<3, using: &random.rng) == 0 {
            let id = Bool.random(using: &random.rng) ? random.pick(live).id : UInt32.random(in: 1...400, using: &random.rng)
            let expected = Result { () throws(LookupError) in try reference.remove(id) }
            let actual = Result { () throws(LookupError) in try subject.remove(id) }
            #expect(expected == actual, "seed \(seed) round \(round): remove \(id)")
          } else {
            var sa = random.securityAssociation()
            if Int.random(in: 0..<5, using: &random.rng) == 0 { sa.id = UInt32.random(in: 1...400, using: &random.rng) }
            let expected = Result { () throws(LookupError) in try reference.insert(sa) }
            let actual = Result { () throws(LookupError) in try subject.insert(sa) }
            #expect(expected == actual, "seed \(seed) round \(round): insert \(sa)")
          }
        }
        try #require(subject.count == reference.count)
        #expect(subject.securityAssociations == reference.securityAssociations)
        if let table = subject as? SPIHashTable { table.checkInvariants() }
        if let table = subject as? NamespacedSAD { table.checkInvariants() }
        let live = reference.securityAssociations
        for _ in 0..<200 {
          let key = random.key(near: live)
          #expect(subject.lookup(key) == reference.lookup(key), "seed \(seed) round \(round): inbound \(key)")
        }
        // The batch path too.
        let keys = (0..<100).map { _ in random.key(near: live) }
        let batch = keys.withUnsafeBufferPointer { keys in
          [SALookupResult](unsafeUninitializedCapacity: keys.count) { results, count in
            subject.lookup(keys, into: results)
            count = keys.count
          }
        }
        #expect(batch == keys.map { reference.lookup($0) }, "seed \(seed) round \(round): batch")
        // Outbound: templates built from live SAs, flows from their addresses.
        for _ in 0..<60 {
          guard let sa = live.isEmpty ? nil : random.pick(live) else { break }
          let template = PolicyTemplate(family: sa.family, source: Bool.random(using: &random.rng) ? sa.source : nil,
                                        destination: sa.destination, proto: sa.proto,
                                        spi: Bool.random(using: &random.rng) ? 0 : sa.spi, reqid: random.pick([0, 1, 2]),
                                        mode: sa.mode)
          var f = FlowKey(source: random.address(sa.family), destination: random.address(sa.family),
                          sourcePort: 1000, destinationPort: random.pick([443, 80]), proto: 6, direction: .out)
          f.namespace = random.pick([0, 0, 1, 2])
          let policy = Policy(selector: try PolicySelector(source: AddressPrefix(address: .unspecified(sa.family), length: 0),
                                                           destination: AddressPrefix(address: .unspecified(sa.family), length: 0)),
                              direction: .out, mark: random.mark(), interfaceID: random.pick([0, 4]))
          #expect(subject.findOutbound(template: template, flow: f, policy: policy)
                  == reference.findOutbound(template: template, flow: f, policy: policy),
                  "seed \(seed) round \(round): outbound")
        }
      }
    }
  }
}
