import Testing
import Lookup

@Suite("SAD semantics (SEMANTICS.md)")
struct SADSemanticsTests {
  static let structures = StructureCatalog.securityAssociationDatabaseNames

  func make(_ name: String, _ mode: InboundLookupMode = .kernel) -> any SecurityAssociationDatabase {
    try! StructureCatalog.makeSecurityAssociationDatabase(named: name, inboundMode: mode)
  }

  @Test(arguments: structures) func inboundKeyIgnoresSourceAndInterfaceID(name: String) throws {
    var sad = make(name)
    let id = try sad.insert(try SecurityAssociation(spi: 0x1000, destination: v4("2.2.2.2"), source: v4("1.1.1.1"),
                                                    interfaceID: 9))
    #expect(sad.lookup(SALookupKey(destination: v4("2.2.2.2"), source: v4("7.7.7.7"), spi: 0x1000)).id == id)
    #expect(sad.lookup(SALookupKey(destination: v4("2.2.2.3"), spi: 0x1000)) == .none)
    #expect(sad.lookup(SALookupKey(destination: v4("2.2.2.2"), spi: 0x1001)) == .none)
    #expect(sad.lookup(SALookupKey(destination: v4("2.2.2.2"), spi: 0x1000, proto: .ah)) == .none)
  }

  @Test(arguments: structures) func inboundMarkAndNewestWins(name: String) throws {
    var sad = make(name)
    let marked = try sad.insert(try SecurityAssociation(spi: 0x2000, destination: v4("2.2.2.2"),
                                                        mark: MarkSelector(value: 1, mask: 0xF)))
    let other = try sad.insert(try SecurityAssociation(spi: 0x2000, destination: v4("2.2.2.2"),
                                                       mark: MarkSelector(value: 2, mask: 0xF)))
    #expect(sad.lookup(SALookupKey(destination: v4("2.2.2.2"), spi: 0x2000, mark: 0x31)).id == marked)
    #expect(sad.lookup(SALookupKey(destination: v4("2.2.2.2"), spi: 0x2000, mark: 0x2)).id == other)
    #expect(sad.lookup(SALookupKey(destination: v4("2.2.2.2"), spi: 0x2000, mark: 0x3)) == .none)
    // An SA whose mark the existing one's mask accepts conflicts (the kernel's
    // `(new.v & new.m & old.m) == old.v`)…
    #expect(throws: LookupError.securityAssociationExists(existingID: marked)) {
      try sad.insert(try SecurityAssociation(spi: 0x2000, destination: v4("2.2.2.2"), mark: MarkSelector(value: 0x11, mask: 0xFF)))
    }
    // …but a different destination is a different key: same SPI is fine (Linux allocates so).
    try sad.insert(try SecurityAssociation(spi: 0x2000, destination: v4("2.2.2.3")))
    // A wildcard-mark SA beside a marked one is no conflict ((0 & 0 & 1) != 1); the newest wins.
    var fresh = make(name)
    let old = try fresh.insert(try SecurityAssociation(spi: 0x3000, destination: v4("2.2.2.2"),
                                                       mark: MarkSelector(value: 1, mask: 1)))
    let new = try fresh.insert(try SecurityAssociation(spi: 0x3000, destination: v4("2.2.2.2")))
    #expect(fresh.lookup(SALookupKey(destination: v4("2.2.2.2"), spi: 0x3000, mark: 1)).id == new)
    #expect(fresh.lookup(SALookupKey(destination: v4("2.2.2.2"), spi: 0x3000, mark: 0)).id == new)
    try fresh.remove(new)
    #expect(fresh.lookup(SALookupKey(destination: v4("2.2.2.2"), spi: 0x3000, mark: 1)).id == old)
  }

  @Test(arguments: structures) func namespacesSeparateEqualSPIs(name: String) throws {
    var sad = make(name)
    let a = try sad.insert(try SecurityAssociation(spi: 0x4000, destination: v4("2.2.2.2"), namespace: 1))
    let b = try sad.insert(try SecurityAssociation(spi: 0x4000, destination: v4("2.2.2.2"), namespace: 2))
    #expect(sad.lookup(SALookupKey(destination: v4("2.2.2.2"), spi: 0x4000, namespace: 1)).id == a)
    #expect(sad.lookup(SALookupKey(destination: v4("2.2.2.2"), spi: 0x4000, namespace: 2)).id == b)
    #expect(sad.lookup(SALookupKey(destination: v4("2.2.2.2"), spi: 0x4000, namespace: 0)) == .none)
  }

  @Test(arguments: structures) func rfc4301LongestMatch(name: String) throws {
    var sad = make(name, .rfc4301)
    let spiOnly = try sad.insert(try SecurityAssociation(spi: 0x5000, destination: v4("9.9.9.9"), inboundMatch: .spi))
    let withDestination = try sad.insert(try SecurityAssociation(spi: 0x5000, destination: v4("2.2.2.2")))
    let withSource = try sad.insert(try SecurityAssociation(spi: 0x5000, destination: v4("2.2.2.2"), source: v4("1.1.1.1"),
                                                            inboundMatch: .spiDestinationAndSource))
    #expect(sad.lookup(SALookupKey(destination: v4("2.2.2.2"), source: v4("1.1.1.1"), spi: 0x5000)).id == withSource)
    #expect(sad.lookup(SALookupKey(destination: v4("2.2.2.2"), source: v4("1.1.1.2"), spi: 0x5000)).id == withDestination)
    #expect(sad.lookup(SALookupKey(destination: v4("3.3.3.3"), source: v4("1.1.1.1"), spi: 0x5000)).id == spiOnly)
    #expect(sad.lookup(SALookupKey(destination: v6("::1"), spi: 0x5000)).id == spiOnly)
    #expect(throws: LookupError.securityAssociationExists(existingID: spiOnly)) {
      try sad.insert(try SecurityAssociation(spi: 0x5000, destination: v4("8.8.8.8"), inboundMatch: .spi))
    }
  }

  func outboundPolicy(mark: MarkSelector = .any, ifID: UInt32 = 0) -> Policy {
    Policy(selector: selector("10.0.0.0/8", "192.168.0.0/16"), direction: .out, mark: mark, interfaceID: ifID)
  }

  @Test(arguments: structures) func outboundExactThenWildcardSourceNewestWins(name: String) throws {
    var sad = make(name)
    let tunnel = PolicyTemplate(family: .ipv4, source: v4("1.1.1.1"), destination: v4("2.2.2.2"), reqid: 5, mode: .tunnel)
    let f = flow("10.0.0.1", "192.168.0.1")
    let policy = outboundPolicy()
    #expect(sad.findOutbound(template: tunnel, flow: f, policy: policy) == .none)
    let wildcard = try sad.insert(try SecurityAssociation(spi: 0x100, reqid: 5, destination: v4("2.2.2.2")))
    #expect(sad.findOutbound(template: tunnel, flow: f, policy: policy).id == wildcard, "wildcard-source fallback")
    let exact = try sad.insert(try SecurityAssociation(spi: 0x101, reqid: 5, destination: v4("2.2.2.2"),
                                                       source: v4("1.1.1.1")))
    #expect(sad.findOutbound(template: tunnel, flow: f, policy: policy).id == exact, "exact (dst, src) first")
    let newer = try sad.insert(try SecurityAssociation(spi: 0x102, reqid: 5, destination: v4("2.2.2.2"),
                                                       source: v4("1.1.1.1")))
    #expect(sad.findOutbound(template: tunnel, flow: f, policy: policy).id == newer, "newest SA wins")
    // The template's SPI, when named, must match.
    var pinned = tunnel
    pinned.spi = 0x101
    #expect(sad.findOutbound(template: pinned, flow: f, policy: policy).id == exact)
  }

  @Test(arguments: structures) func outboundNeedsExactReqidModeProtoInterfaceAndPolicyMark(name: String) throws {
    var sad = make(name)
    let f = flow("10.0.0.1", "192.168.0.1")
    let tunnel = PolicyTemplate(family: .ipv4, source: v4("1.1.1.1"), destination: v4("2.2.2.2"), reqid: 5, mode: .tunnel)
    try sad.insert(try SecurityAssociation(spi: 0x200, reqid: 0, destination: v4("2.2.2.2"), source: v4("1.1.1.1")))
    try sad.insert(try SecurityAssociation(spi: 0x201, mode: .transport, reqid: 5, destination: v4("2.2.2.2"),
                                           source: v4("1.1.1.1")))
    try sad.insert(try SecurityAssociation(spi: 0x202, proto: .ah, reqid: 5, destination: v4("2.2.2.2"),
                                           source: v4("1.1.1.1")))
    let bound = try sad.insert(try SecurityAssociation(spi: 0x203, reqid: 5, destination: v4("2.2.2.2"),
                                                       source: v4("1.1.1.1"), interfaceID: 4))
    let marked = try sad.insert(try SecurityAssociation(spi: 0x204, reqid: 5, destination: v4("2.2.2.2"),
                                                        source: v4("1.1.1.1"), mark: MarkSelector(value: 3, mask: 3)))
    #expect(sad.findOutbound(template: tunnel, flow: f, policy: outboundPolicy()) == .none,
            "reqid 0 is no wildcard; mode, proto and if_id are exact; mark comes from the policy")
    #expect(sad.findOutbound(template: tunnel, flow: f, policy: outboundPolicy(ifID: 4)).id == bound)
    var markedFlow = f
    markedFlow.mark = 3
    #expect(sad.findOutbound(template: tunnel, flow: markedFlow, policy: outboundPolicy()) == .none,
            "the packet's mark does not choose the outbound SA")
    #expect(sad.findOutbound(template: tunnel, flow: f, policy: outboundPolicy(mark: MarkSelector(value: 3, mask: 0xFF))).id
            == marked)
  }

  @Test(arguments: structures) func outboundTransportUsesTheFlowsAddressesAndTheSAsSelector(name: String) throws {
    var sad = make(name)
    let transport = PolicyTemplate(family: .ipv4, reqid: 1, mode: .transport)
    let restricted = try sad.insert(try SecurityAssociation(
      spi: 0x300, mode: .transport, reqid: 1, destination: v4("192.168.0.1"), source: v4("10.0.0.1"),
      selector: selector("10.0.0.1/32", "192.168.0.1/32", dport: .exactly(443), proto: .number(6))))
    #expect(sad.findOutbound(template: transport, flow: flow("10.0.0.1", "192.168.0.1", dport: 443),
                             policy: outboundPolicy()).id == restricted)
    #expect(sad.findOutbound(template: transport, flow: flow("10.0.0.1", "192.168.0.1", dport: 80),
                             policy: outboundPolicy()) == .none, "the SA's own selector must match the flow")
    #expect(sad.findOutbound(template: transport, flow: flow("10.0.0.2", "192.168.0.1", dport: 443),
                             policy: outboundPolicy()) == .none)
  }

  @Test(arguments: structures) func idsAreUniqueAndRemovable(name: String) throws {
    var sad = make(name)
    let a = try sad.insert(try SecurityAssociation(id: 42, spi: 0x600, destination: v4("2.2.2.2")))
    #expect(a == 42)
    #expect(throws: LookupError.securityAssociationExists(existingID: 42)) {
      try sad.insert(try SecurityAssociation(id: 42, spi: 0x601, destination: v4("2.2.2.2")))
    }
    let b = try sad.insert(try SecurityAssociation(spi: 0x602, destination: v4("2.2.2.2")))
    #expect(b != 0 && b != 42)
    #expect(sad.securityAssociations.map(\.id) == [42, b])
    #expect(try sad.remove(42).spi == 0x600)
    #expect(throws: LookupError.securityAssociationNotFound(id: 42)) { try sad.remove(42) }
    #expect(sad.count == 1)
  }
}
