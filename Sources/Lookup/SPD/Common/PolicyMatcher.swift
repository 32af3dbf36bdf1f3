/// A policy's match predicate flattened into plain integers: the form every SPD structure
/// checks candidates with.
///
/// `matches(_:)` is SEMANTICS.md rules 1–9 plus direction and type, with no branches on
/// selector shape (an "any" field is a zero mask or a full range). It holds no references,
/// so arrays of matchers are contiguous plain data.
public struct PolicyMatcher: Hashable, Sendable {
  public var sourceBits: UInt128
  public var sourceMask: UInt128
  public var destinationBits: UInt128
  public var destinationMask: UInt128
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
  /// 0xFF = any DSCP.
  public var dscp: UInt8
  /// family | direction << 4 | type << 6: one byte compared at once.
  public var context: UInt8

  @inlinable
  public init(_ policy: Policy) {
    let s = policy.selector
    sourceBits = s.source.address.bits
    sourceMask = s.source.mask
    destinationBits = s.destination.address.bits
    destinationMask = s.destination.mask
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
    dscp = s.dscp._raw
    context = PolicyMatcher.context(family: s.family, direction: policy.direction, type: policy.type)
  }

  /// The byte that packs family, direction and type, as `context` holds it.
  @inlinable @inline(__always)
  public static func context(family: AddressFamily, direction: PolicyDirection, type: PolicyType) -> UInt8 {
    (family == .ipv4 ? 0 : 1) | direction.rawValue &<< 4 | type.rawValue &<< 6
  }

  /// The context byte of a flow.
  @inlinable @inline(__always)
  public static func context(of key: FlowKey) -> UInt8 {
    context(family: key.family, direction: key.direction, type: key.policyType)
  }

  /// Whether the policy matches a flow whose context byte is `context`.
  @inlinable @inline(__always)
  public func matches(_ key: FlowKey, context keyContext: UInt8) -> Bool {
    context == keyContext
      && (key.destination ^ destinationBits) & destinationMask == 0
      && (key.source ^ sourceBits) & sourceMask == 0
      && matchesNonAddressFields(key)
  }

  /// The checks besides context and addresses: ports, protocol, mark, if_id, ifindex, DSCP.
  /// Structures that have already placed the flow by its addresses check only these.
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

  @inlinable @inline(__always)
  public func matches(_ key: FlowKey) -> Bool {
    matches(key, context: PolicyMatcher.context(of: key))
  }
}
