/// One line of a ClassBench rule file: an IPv4 5-tuple filter plus the flags field.
///
/// Line order is priority order (the first line wins); a rule is named by its 0-based line
/// number. The flags field is kept for round trips but, as in the published classifiers,
/// never classified on (see `Data/classbench/FORMAT.md`).
public struct ClassBenchRule: Hashable, Sendable {
  public var source: AddressPrefix
  public var destination: AddressPrefix
  public var sourcePorts: ClosedRange<UInt16>
  public var destinationPorts: ClosedRange<UInt16>
  /// `0xPP/0xFF` = exactly protocol PP; `0x00/0x00` = any.
  public var protocolValue: UInt8
  public var protocolMask: UInt8
  public var flagsValue: UInt16
  public var flagsMask: UInt16

  public init(source: AddressPrefix, destination: AddressPrefix, sourcePorts: ClosedRange<UInt16>,
              destinationPorts: ClosedRange<UInt16>, protocolValue: UInt8, protocolMask: UInt8,
              flagsValue: UInt16 = 0, flagsMask: UInt16 = 0) {
    self.source = source
    self.destination = destination
    self.sourcePorts = sourcePorts
    self.destinationPorts = destinationPorts
    self.protocolValue = protocolValue
    self.protocolMask = protocolMask
    self.flagsValue = flagsValue
    self.flagsMask = flagsMask
  }

  /// The rule's five classified fields as a selector (ports as ranges; protocol any or exact).
  /// - Throws: `LookupError.familyMismatch` when the prefixes are not both IPv4 (the
  ///   reader builds only IPv4 rules; the fields are `var`s, so a caller could set others).
  public var selector: PolicySelector {
    get throws(LookupError) {
      guard source.family == .ipv4, destination.family == .ipv4 else { throw .familyMismatch }
      let proto: ProtocolSelector = protocolMask == 0 ? .any : .number(protocolValue)
      return try PolicySelector(source: source, destination: destination, sourcePort: PortSelector(sourcePorts),
                                destinationPort: PortSelector(destinationPorts), proto: proto)
    }
  }

  /// The rule as a ClassBench line can express a selector, when it can: IPv4, ports as
  /// ranges, protocol any or exact, no ifindex or DSCP.
  public init?(selector: PolicySelector) {
    guard selector.family == .ipv4, selector.ifindex == 0, selector.dscp.isAny,
          let sourcePorts = selector.sourcePort.range, let destinationPorts = selector.destinationPort.range
    else { return nil }
    self.init(source: selector.source, destination: selector.destination, sourcePorts: sourcePorts,
              destinationPorts: destinationPorts, protocolValue: selector.proto.number ?? 0,
              protocolMask: selector.proto.isAny ? 0 : 0xFF)
  }
}

/// A ClassBench rule file read into memory, and its mapping onto SPD policies.
///
/// `policies(direction:)` turns rule `i` into a policy with priority `i` (so line order is
/// priority order, lowest first) and the kernel-style index `(i + 1) << 3 | direction`, so
/// `ruleNumber(policyIndex:)` maps an SPD answer back to a line number.
///
/// ClassBench files can hold rules whose five fields are identical (they differ only in
/// the flags field, which is not classified). The kernel refuses such duplicates (`EEXIST`),
/// so the k-th repeat of a selector gets the mark selector `value 0, mask k` — the trick
/// `reference/live-kernel-testing.md` uses: flows with mark 0 still match every copy, and
/// the earliest line still wins, exactly as first-match on the file requires.
public struct ClassBenchRuleSet: Hashable, Sendable {
  public var rules: [ClassBenchRule]

  public init(rules: [ClassBenchRule]) { self.rules = rules }

  /// The SPD policy for each rule, in line order.
  /// - Throws: `LookupError.familyMismatch` for a rule whose prefixes are not IPv4 (never for
  ///   rules the reader built).
  public func policies(direction: PolicyDirection = .out) throws(LookupError) -> [Policy] {
    var repeats: [PolicySelector: UInt32] = [:]
    var policies: [Policy] = []
    policies.reserveCapacity(rules.count)
    for (line, rule) in rules.enumerated() {
      let selector = try rule.selector
      let repeatCount = repeats[selector, default: 0]
      repeats[selector] = repeatCount + 1
      policies.append(Policy(selector: selector, priority: UInt32(line),
                             index: Self.policyIndex(ruleNumber: line, direction: direction),
                             direction: direction, mark: MarkSelector(value: 0, mask: repeatCount)))
    }
    return policies
  }

  /// The policy index given to rule `ruleNumber`.
  @inlinable
  public static func policyIndex(ruleNumber: Int, direction: PolicyDirection = .out) -> UInt32 {
    UInt32(truncatingIfNeeded: ruleNumber + 1) << 3 | UInt32(direction.rawValue)
  }

  /// The 0-based rule number of a policy index, or -1 for "no match" (index 0).
  @inlinable
  public static func ruleNumber(policyIndex: UInt32) -> Int {
    policyIndex == 0 ? -1 : Int(policyIndex >> 3) - 1
  }
}

/// One header of a ClassBench trace: a 5-tuple, the unused sixth column and the index of the
/// rule the header was generated from (the right first-match answer is ≤ that index).
public struct ClassBenchHeader: Hashable, Sendable {
  public var source: UInt32
  public var destination: UInt32
  public var sourcePort: UInt16
  public var destinationPort: UInt16
  public var proto: UInt8
  public var column6: UInt32
  public var generatingRule: Int

  public init(source: UInt32, destination: UInt32, sourcePort: UInt16, destinationPort: UInt16, proto: UInt8,
              column6: UInt32 = 0, generatingRule: Int = 0) {
    self.source = source
    self.destination = destination
    self.sourcePort = sourcePort
    self.destinationPort = destinationPort
    self.proto = proto
    self.column6 = column6
    self.generatingRule = generatingRule
  }

  /// The header as an SPD flow key (IPv4, mark 0, if_id 0).
  @inlinable
  public func flowKey(direction: PolicyDirection = .out) -> FlowKey {
    FlowKey(source: IPAddress(ipv4: source), destination: IPAddress(ipv4: destination), sourcePort: sourcePort,
            destinationPort: destinationPort, proto: proto, direction: direction)
  }
}
