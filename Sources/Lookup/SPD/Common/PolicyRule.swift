/// The hot record of one policy: everything a lookup checks, as plain integers (128 bytes:
/// two cache lines at most, the addresses and masks in the first).
///
/// The `PolicyRegistry` keeps one per live policy in a contiguous array indexed by *slot*;
/// every SPD index stores slots (4 bytes) and reads the rule from that array, so a policy's
/// data exists once. `matches(_:context:)` is SEMANTICS.md rules 1–9 plus direction and
/// type, with no branches on selector shape: an "any" field is a zero mask, a full range or
/// a sentinel.
public struct PolicyRule: Hashable, Sendable {
  /// Source and destination as written (host bits kept); matching masks them by length.
  public var sourceBits: UInt128
  public var destinationBits: UInt128
  /// The prefix masks (top `length` bits set), kept so a check costs no variable shifts.
  public var sourceMask: UInt128
  public var destinationMask: UInt128
  /// Age: lower = older. Ties between equal priorities go to the lower position.
  public var position: UInt64
  public var priority: UInt32
  public var index: UInt32
  public var markValue: UInt32
  public var markMask: UInt32
  public var interfaceID: UInt32
  public var ifindex: UInt32
  public var sourcePortValue: UInt16
  public var sourcePortMask: UInt16
  public var sourcePortLow: UInt16
  public var sourcePortHigh: UInt16
  public var destinationPortValue: UInt16
  public var destinationPortMask: UInt16
  public var destinationPortLow: UInt16
  public var destinationPortHigh: UInt16
  /// 0x100 = any protocol, else the number.
  public var proto: UInt16
  public var sourceLength: UInt8
  public var destinationLength: UInt8
  /// 0xFF = any DSCP.
  public var dscp: UInt8
  /// family | direction << 4 | type << 6 (`PolicyRule.context(...)`).
  public var context: UInt8
  public var action: PolicyAction

  @inlinable
  public init(_ policy: Policy, position: UInt64) {
    let s = policy.selector
    sourceBits = s.source.address.bits
    destinationBits = s.destination.address.bits
    sourceMask = s.source.mask
    destinationMask = s.destination.mask
    self.position = position
    priority = policy.priority
    index = policy.index
    markValue = policy.mark.value
    markMask = policy.mark.mask
    interfaceID = policy.interfaceID
    ifindex = s.ifindex
    sourcePortValue = s.sourcePort.value
    sourcePortMask = s.sourcePort.mask
    sourcePortLow = s.sourcePort.low
    sourcePortHigh = s.sourcePort.high
    destinationPortValue = s.destinationPort.value
    destinationPortMask = s.destinationPort.mask
    destinationPortLow = s.destinationPort.low
    destinationPortHigh = s.destinationPort.high
    proto = s.proto._raw
    sourceLength = s.source.length
    destinationLength = s.destination.length
    dscp = s.dscp._raw
    context = PolicyRule.context(family: s.family, direction: policy.direction, type: policy.type)
    action = policy.action
  }

  /// The byte that packs family, direction and type.
  @inlinable @inline(__always)
  public static func context(family: AddressFamily, direction: PolicyDirection, type: PolicyType) -> UInt8 {
    (family == .ipv4 ? 0 : 1) | direction.rawValue &<< 4 | type.rawValue &<< 6
  }

  /// The context byte of a flow.
  @inlinable @inline(__always)
  public static func context(of key: FlowKey) -> UInt8 {
    context(family: key.family, direction: key.direction, type: key.policyType)
  }

  /// The number of distinct context bytes (an upper bound for per-context arrays).
  public static let contextCount = 128

  /// The order of two rules: (priority, position), lower first, as one comparable value.
  @inlinable @inline(__always)
  public var rank: UInt128 { UInt128(priority) &<< 64 | UInt128(position) }

  @inlinable
  public var family: AddressFamily { context & 1 == 0 ? .ipv4 : .ipv6 }

  @inlinable
  public var direction: PolicyDirection { PolicyDirection(rawValue: context &>> 4 & 3) ?? .out }

  @inlinable
  public var type: PolicyType { PolicyType(rawValue: context &>> 6 & 1) ?? .main }

  /// Whether the rule matches a flow whose context byte is `keyContext`.
  @inlinable @inline(__always)
  public func matches(_ key: FlowKey, context keyContext: UInt8) -> Bool {
    context == keyContext
      && (key.destination ^ destinationBits) & destinationMask == 0
      && (key.source ^ sourceBits) & sourceMask == 0
      && matchesNonAddressFields(key)
  }

  /// The checks besides context and addresses: ports, protocol, mark, if_id, ifindex, DSCP.
  @inlinable @inline(__always)
  public func matchesNonAddressFields(_ key: FlowKey) -> Bool {
    let sp = key.sourcePort, dp = key.destinationPort
    return (sp ^ sourcePortValue) & sourcePortMask == 0 && sp >= sourcePortLow && sp <= sourcePortHigh
      && (dp ^ destinationPortValue) & destinationPortMask == 0 && dp >= destinationPortLow && dp <= destinationPortHigh
      && (proto == 0x100 || proto == UInt16(key.proto))
      && key.mark & markMask == markValue
      && key.interfaceID == interfaceID
      && (ifindex == 0 || ifindex == key.ifindex)
      && (dscp == 0xFF || dscp == key.dscp)
  }

  /// Whether two rules have the same identity (selector as written, direction, type, mark,
  /// if_id): the duplicate check.
  @inlinable
  public func hasSameIdentity(as other: PolicyRule) -> Bool {
    sourceBits == other.sourceBits && destinationBits == other.destinationBits
      && sourceLength == other.sourceLength && destinationLength == other.destinationLength
      && context == other.context && markValue == other.markValue && markMask == other.markMask
      && interfaceID == other.interfaceID && ifindex == other.ifindex && proto == other.proto && dscp == other.dscp
      && sourcePortValue == other.sourcePortValue && sourcePortMask == other.sourcePortMask
      && sourcePortLow == other.sourcePortLow && sourcePortHigh == other.sourcePortHigh
      && destinationPortValue == other.destinationPortValue && destinationPortMask == other.destinationPortMask
      && destinationPortLow == other.destinationPortLow && destinationPortHigh == other.destinationPortHigh
  }

  /// A seeded hash of the identity fields (what `hasSameIdentity` compares).
  @inlinable
  public func identityHash(seed: UInt64) -> UInt64 {
    var h = SeededHash.mix(seed, sourceBits)
    h = SeededHash.mix(h, destinationBits)
    h = SeededHash.mix(h, UInt64(sourceLength) | UInt64(destinationLength) << 8 | UInt64(context) << 16
                          | UInt64(dscp) << 24 | UInt64(proto) << 32)
    h = SeededHash.mix(h, UInt64(markValue) | UInt64(markMask) << 32)
    h = SeededHash.mix(h, UInt64(interfaceID) | UInt64(ifindex) << 32)
    h = SeededHash.mix(h, UInt64(sourcePortValue) | UInt64(sourcePortMask) << 16 | UInt64(sourcePortLow) << 32
                          | UInt64(sourcePortHigh) << 48)
    return SeededHash.mix(h, UInt64(destinationPortValue) | UInt64(destinationPortMask) << 16
                             | UInt64(destinationPortLow) << 32 | UInt64(destinationPortHigh) << 48)
  }

  /// The policy this rule was made from (given its templates).
  public func policy(templates: [PolicyTemplate]) -> Policy {
    let family = self.family
    let source = AddressPrefix(uncheckedAddress: IPAddress(bits: sourceBits, family: family), length: Int(sourceLength))
    let destination = AddressPrefix(uncheckedAddress: IPAddress(bits: destinationBits, family: family),
                                    length: Int(destinationLength))
    let selector = PolicySelector(
      family: family, source: source, destination: destination,
      sourcePort: PortSelector(_value: sourcePortValue, mask: sourcePortMask, low: sourcePortLow, high: sourcePortHigh),
      destinationPort: PortSelector(_value: destinationPortValue, mask: destinationPortMask, low: destinationPortLow,
                                    high: destinationPortHigh),
      proto: ProtocolSelector(_raw: proto), ifindex: ifindex, dscp: DSCPSelector(_raw: dscp))
    return Policy(selector: selector, priority: priority, index: index, direction: direction, type: type,
                  action: action, templates: templates, mark: MarkSelector(value: markValue, mask: markMask),
                  interfaceID: interfaceID)
  }
}
