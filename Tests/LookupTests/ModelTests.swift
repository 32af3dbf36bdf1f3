import Testing
@testable import Lookup

@Suite("Model")
struct ModelTests {
  @Test func addressesRoundTripThroughText() {
    for text in ["0.0.0.0", "10.1.2.3", "255.255.255.255", "::", "::1", "2001:db8::1", "fe80::1:2:3:4",
                 "2001:db8:0:1:1:1:1:1", "::ffff:192.0.2.1", "1::", "2001:db8::"] {
      #expect(IPAddress(parsing: text)?.description == text, "\(text)")
    }
    #expect(IPAddress(parsing: "2001:0db8:0000:0000:0000:0000:0000:0001")?.description == "2001:db8::1")
    for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", ":::", "1:2:3:4:5:6:7:8:9", "2001:db8::1::2",
                "12345::", "1:2:3:4:5:6:7:", "g::1", "1.2.3.4/8"] {
      #expect(IPAddress(parsing: bad) == nil, "\(bad)")
    }
  }

  @Test func addressesAreLeftAligned() {
    let a = v4("192.0.2.1")
    #expect(a.bits == UInt128(0xC000_0201) << 96)
    #expect(a.ipv4Value == 0xC000_0201)
    #expect(v6("8000::").bits == UInt128(1) << 127)
  }

  @Test func prefixesKeepHostBitsAndRejectBadLengths() throws {
    let written = prefix("10.1.2.3/8")
    #expect(written.hasHostBits)
    #expect(written != prefix("10.0.0.0/8"))
    #expect(written.contains(v4("10.200.0.1").bits))
    #expect(!written.contains(v4("11.0.0.1").bits))
    #expect(throws: LookupError.invalidPrefixLength(33, family: .ipv4)) {
      try AddressPrefix(address: v4("1.2.3.4"), length: 33)
    }
    #expect(throws: LookupError.invalidPrefixLength(129, family: .ipv6)) {
      try AddressPrefix(address: v6("::1"), length: 129)
    }
    #expect(try AddressPrefix(address: v6("::"), length: 0).contains(v6("2001:db8::1").bits))
    #expect(prefix("10.0.0.0/8").covers(prefix("10.1.0.0/16")))
    #expect(!prefix("10.1.0.0/16").covers(prefix("10.0.0.0/8")))
  }

  @Test func portSelectorsConvertExactly() throws {
    // An aligned power-of-two block is a value/mask selector, in both spellings.
    let block = try PortSelector(low: 1024, high: 2047)
    #expect(block == PortSelector(value: 1024, mask: 0xFC00))
    #expect(block.valueMask! == (1024, 0xFC00))
    #expect(block.range == 1024...2047)
    #expect(try PortSelector(low: 80, high: 80) == .exactly(80))
    #expect(try PortSelector(low: 0, high: 65535) == .any)
    // Other ranges stay ranges: no value/mask form.
    let range = try PortSelector(low: 1, high: 1023)
    #expect(range.valueMask == nil)
    #expect(range.range == 1...1023)
    #expect(range.matches(1) && range.matches(1023) && !range.matches(0) && !range.matches(1024))
    // A non-contiguous mask has no range form.
    let odd = PortSelector(value: 0x0001, mask: 0x00FF)
    #expect(odd.range == nil)
    #expect(odd.matches(0x1201) && !odd.matches(0x1202))
    #expect(throws: LookupError.invalidPortRange(low: 10, high: 9)) { try PortSelector(low: 10, high: 9) }
    // Exhaustive: every block conversion agrees with the range on every port of a sample.
    for bits in 0...16 {
      let span = 1 << bits
      for low in stride(from: 0, to: 65536, by: max(span, 4096)) {
        let selector = try PortSelector(low: UInt16(low), high: UInt16(low + span - 1))
        #expect(selector.isValueMask)
        for port in [low, low + span - 1, (low + span) % 65536, max(low - 1, 0)] {
          #expect(selector.matches(UInt16(port)) == (port >= low && port <= low + span - 1))
        }
      }
    }
  }

  @Test func protocolDSCPAndMarkSelectors() throws {
    #expect(ProtocolSelector.any.matches(0) && ProtocolSelector.any.matches(17))
    #expect(ProtocolSelector.number(0).matches(0) && !ProtocolSelector.number(0).matches(6))
    #expect(throws: LookupError.invalidProtocol(256)) { try ProtocolSelector(checking: 256) }
    #expect(throws: LookupError.invalidDSCP(64)) { try DSCPSelector(64) }
    #expect(try DSCPSelector(46).matches(46) && !(try DSCPSelector(46).matches(0)))
    #expect(MarkSelector(value: 0x10, mask: 0xFF).matches(0x1210))
    #expect(!MarkSelector(value: 0x10, mask: 0xFF).matches(0x11))
    #expect(!MarkSelector(value: 0x100, mask: 0xFF).matches(0x100), "value bits outside the mask never match")
  }

  @Test func securityAssociationsRejectBadValues() throws {
    #expect(throws: LookupError.invalidSPI(0)) { try SecurityAssociation(spi: 0, destination: v4("1.1.1.1")) }
    #expect(throws: LookupError.invalidSPI(255)) { try SecurityAssociation(spi: 255, destination: v4("1.1.1.1")) }
    #expect(throws: LookupError.invalidReplayWindow(4097)) {
      try SecurityAssociation(spi: 256, destination: v4("1.1.1.1"), replayWindow: 4097)
    }
    #expect(throws: LookupError.familyMismatch) {
      try SecurityAssociation(spi: 256, destination: v4("1.1.1.1"), source: v6("::1"))
    }
    #expect(throws: LookupError.familyMismatch) {
      try PolicySelector(source: prefix("10.0.0.0/8"), destination: prefix("::/0"))
    }
  }

  /// An SA's fields are `var`s: one changed after `init` is checked again when a SAD takes
  /// it, and refused without changing the SAD.
  @Test(arguments: StructureCatalog.securityAssociationDatabaseNames)
  func securityAssociationsChangedAfterInitAreCheckedOnInsert(name: String) throws {
    var sad = try StructureCatalog.makeSecurityAssociationDatabase(named: name)
    var zeroSPI = try SecurityAssociation(spi: 256, destination: v4("1.1.1.1"))
    zeroSPI.spi = 0
    #expect(throws: LookupError.invalidSPI(0)) { try sad.insert(zeroSPI) }
    var wideWindow = try SecurityAssociation(spi: 257, destination: v4("1.1.1.1"))
    wideWindow.replayWindow = 5000
    #expect(throws: LookupError.invalidReplayWindow(5000)) { try sad.insert(wideWindow) }
    var mixed = try SecurityAssociation(spi: 258, destination: v4("1.1.1.1"))
    mixed.source = v6("::1")
    #expect(throws: LookupError.familyMismatch) { try sad.insert(mixed) }
    #expect(sad.count == 0)
    #expect(try sad.insert(SecurityAssociation(spi: 259, destination: v4("1.1.1.1"))) != 0)
  }

  /// A template whose endpoints are not of its family is refused when its policy is added.
  @Test(arguments: StructureCatalog.policyDatabaseNames)
  func templatesOfTheWrongFamilyAreRefused(name: String) throws {
    var spd = try StructureCatalog.makePolicyDatabase(named: name)
    var policy = Policy(selector: selector("10.0.0.0/8", "192.168.0.0/16"), direction: .out)
    policy.templates = [PolicyTemplate(family: .ipv4, destination: v6("2001:db8::1"))]
    #expect(throws: LookupError.familyMismatch) { try spd.insert(policy) }
    #expect(spd.count == 0)
    policy.templates = [PolicyTemplate(family: .ipv6, source: v6("2001:db8::2"), destination: v6("2001:db8::1"))]
    #expect(try spd.insert(policy) != 0, "a template may be of another family than the selector (IPv4 over IPv6)")
  }

  /// A rule's hot record is one cache line, and its packed ports, protocol and DSCP give
  /// back the selector it was made from.
  @Test func policyRuleIsOneCacheLineAndKeepsItsSelector() throws {
    #expect(MemoryLayout<PolicyRule>.stride == 64)
    let selector = try PolicySelector(source: prefix("10.0.0.0/8"), destination: prefix("0.0.0.0/0"),
                                      sourcePort: try PortSelector(low: 1000, high: 1999), destinationPort: .exactly(443),
                                      proto: .number(6), dscp: try DSCPSelector(46))
    let rule = PolicyRule(Policy(selector: selector, priority: 7, direction: .out, action: .block), sequence: 1)
    #expect(rule.sourcePort == selector.sourcePort && rule.destinationPort == selector.destinationPort)
    #expect(rule.proto == 6 && rule.dscp == 46 && rule.action == .block && !rule.needsExtras)
    var flow = FlowKey(source: IPAddress(parsing: "10.1.1.1")!, destination: IPAddress(parsing: "1.1.1.1")!,
                       sourcePort: 1500, destinationPort: 443, proto: 6, direction: .out)
    flow.dscp = 46
    #expect(rule.matchesPortsProtocolAndDSCP(flow))
    for change in [{ (f: inout FlowKey) in f.sourcePort = 2000 }, { $0.destinationPort = 444 }, { $0.proto = 17 },
                   { $0.dscp = 10 }] {
      var other = flow
      change(&other)
      #expect(!rule.matchesPortsProtocolAndDSCP(other))
    }
    let any = PolicyRule(Policy(selector: try PolicySelector(source: prefix("0.0.0.0/0"), destination: prefix("0.0.0.0/0")),
                                priority: 1, direction: .out), sequence: 2)
    #expect(any.proto == 0x100 && any.dscp == 0xFF && any.sourcePort == .any && any.matchesPortsProtocolAndDSCP(flow))
  }

  @Test func flowKeyIsOneCacheLine() {
    #expect(MemoryLayout<FlowKey>.size == 64)
    #expect(MemoryLayout<PolicyLookupResult>.size <= 8)
  }

  @Test func icmpAndGREKeysFillThePortFields() {
    let icmp = FlowKey.icmp(source: v4("1.1.1.1"), destination: v4("2.2.2.2"), type: 8, code: 3)
    #expect(icmp.sourcePort == 8 && icmp.destinationPort == 3 && icmp.proto == 1)
    let icmp6 = FlowKey.icmp(source: v6("::1"), destination: v6("::2"), type: 128, code: 0)
    #expect(icmp6.proto == 58)
    let gre = FlowKey.gre(source: v4("1.1.1.1"), destination: v4("2.2.2.2"), key: 0x0001_0002)
    #expect(gre.sourcePort == 1 && gre.destinationPort == 2 && gre.proto == 47)
  }
}
