/// The hot record of one policy: what a lookup checks on every candidate, in one 64-byte
/// cache line.
///
/// The `PolicyRegistry` keeps one per live policy in a contiguous array indexed by *slot*,
/// beside a cold `PolicyRuleExtras` array (index, action, mark, if_id, ifindex, full age).
/// Every SPD index stores slots (4 bytes) and reads rules through a `PolicyRules` view, so a
/// policy's data exists once.
///
/// `rank` orders rules: priority in the high 32 bits, a 32-bit *sequence* (the age: lower is
/// older) in the low ones, so "lower priority value wins, then the older policy" is one
/// integer comparison. When the sequence counter would overflow the registry renumbers all
/// live rules in age order (the kernel does the same with its `pos`), which keeps every
/// order intact.
///
/// Rules whose mark, if_id and ifindex are all "any"/0 — nearly all of them — are decided by
/// this record alone; the others carry `needsExtras` and are finished against their extras.
public struct PolicyRule: Hashable, Sendable {
  /// Source and destination as written (host bits kept); matching masks them by length.
  public var sourceBits: UInt128
  public var destinationBits: UInt128
  /// priority << 32 | sequence: lower ranks win.
  public var rank: UInt64
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
  /// family | direction << 4 | type << 6 (`PolicyRule.context(...)`).
  public var context: UInt8
  /// 0xFF = any DSCP.
  public var dscp: UInt8
  /// Whether mark, if_id or ifindex must be checked against the rule's extras.
  public var needsExtras: Bool

  @inlinable
  public init(_ policy: Policy, sequence: UInt32) {
    let s = policy.selector
    sourceBits = s.source.address.bits
    destinationBits = s.destination.address.bits
    rank = UInt64(policy.priority) &<< 32 | UInt64(sequence)
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
    context = PolicyRule.context(family: s.family, direction: policy.direction, type: policy.type)
    dscp = s.dscp._raw
    needsExtras = policy.mark != .any || policy.interfaceID != 0 || s.ifindex != 0
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

  @inlinable public var priority: UInt32 { UInt32(truncatingIfNeeded: rank &>> 32) }
  @inlinable public var sequence: UInt32 { UInt32(truncatingIfNeeded: rank) }

  @inlinable @inline(__always)
  public var sourceMask: UInt128 { IPAddress.mask(length: Int(sourceLength)) }

  @inlinable @inline(__always)
  public var destinationMask: UInt128 { IPAddress.mask(length: Int(destinationLength)) }

  @inlinable public var family: AddressFamily { context & 1 == 0 ? .ipv4 : .ipv6 }
  @inlinable public var direction: PolicyDirection { PolicyDirection(rawValue: context &>> 4 & 3) ?? .out }
  @inlinable public var type: PolicyType { PolicyType(rawValue: context &>> 6 & 1) ?? .main }

  /// Whether the addresses of a flow lie in the rule's prefixes.
  @inlinable @inline(__always)
  public func matchesAddresses(_ key: FlowKey) -> Bool {
    (key.destination ^ destinationBits) & destinationMask == 0 && (key.source ^ sourceBits) & sourceMask == 0
  }

  /// Ports, protocol and DSCP (the selector checks besides addresses and ifindex).
  @inlinable @inline(__always)
  public func matchesPortsProtocolAndDSCP(_ key: FlowKey) -> Bool {
    let sp = key.sourcePort, dp = key.destinationPort
    return (sp ^ sourcePortValue) & sourcePortMask == 0 && sp >= sourcePortLow && sp <= sourcePortHigh
      && (dp ^ destinationPortValue) & destinationPortMask == 0 && dp >= destinationPortLow && dp <= destinationPortHigh
      && (proto == 0x100 || proto == UInt16(key.proto))
      && (dscp == 0xFF || dscp == key.dscp)
  }

  /// Whether two rules have the same selector, direction and type (the identity, less the
  /// mark and if_id, which `PolicyRuleExtras.hasSameIdentity` compares).
  @inlinable
  public func hasSameSelector(as other: PolicyRule) -> Bool {
    sourceBits == other.sourceBits && destinationBits == other.destinationBits
      && sourceLength == other.sourceLength && destinationLength == other.destinationLength
      && context == other.context && proto == other.proto && dscp == other.dscp
      && sourcePortValue == other.sourcePortValue && sourcePortMask == other.sourcePortMask
      && sourcePortLow == other.sourcePortLow && sourcePortHigh == other.sourcePortHigh
      && destinationPortValue == other.destinationPortValue && destinationPortMask == other.destinationPortMask
      && destinationPortLow == other.destinationPortLow && destinationPortHigh == other.destinationPortHigh
  }
}

/// The cold part of a policy's record: what a lookup needs only for the winner (index,
/// action) or for the rare rules with a mark, if_id or ifindex.
public struct PolicyRuleExtras: Hashable, Sendable {
  /// The full age (64-bit, never renumbered); `PolicyRule.rank` holds a 32-bit image of it.
  public var position: UInt64
  /// The policy index; 0 marks a free slot.
  public var index: UInt32
  public var markValue: UInt32
  public var markMask: UInt32
  public var interfaceID: UInt32
  public var ifindex: UInt32
  public var action: PolicyAction

  @inlinable
  public init(_ policy: Policy, position: UInt64) {
    self.position = position
    index = policy.index
    markValue = policy.mark.value
    markMask = policy.mark.mask
    interfaceID = policy.interfaceID
    ifindex = policy.selector.ifindex
    action = policy.action
  }

  /// Mark, if_id and ifindex (SEMANTICS.md rules 2, 3 and 8).
  @inlinable @inline(__always)
  public func matches(_ key: FlowKey) -> Bool {
    key.mark & markMask == markValue && key.interfaceID == interfaceID && (ifindex == 0 || ifindex == key.ifindex)
  }
}

/// A read-only view of the registry's rules for one search: hot records and extras by slot.
/// Valid only inside the `withRules` call that made it.
public struct PolicyRules {
  public let hot: UnsafeBufferPointer<PolicyRule>
  public let extras: UnsafeBufferPointer<PolicyRuleExtras>

  @inlinable
  public init(hot: UnsafeBufferPointer<PolicyRule>, extras: UnsafeBufferPointer<PolicyRuleExtras>) {
    self.hot = hot
    self.extras = extras
  }

  @inlinable @inline(__always)
  public subscript(slot: UInt32) -> PolicyRule { hot[Int(slot)] }

  /// The full predicate of slot's rule on a flow whose context byte is `context`:
  /// SEMANTICS.md rules 1–9 plus direction and type.
  @inlinable @inline(__always)
  public func matches(_ slot: UInt32, _ key: FlowKey, context: UInt8) -> Bool {
    let rule = hot[Int(slot)]
    return rule.context == context && rule.matchesAddresses(key) && rule.matchesPortsProtocolAndDSCP(key)
      && (rule.needsExtras ? extras[Int(slot)].matches(key) : key.interfaceID == 0)
  }

  /// The predicate without the context and address checks, for indexes whose search has
  /// already placed the flow by its exact prefixes.
  @inlinable @inline(__always)
  public func matchesBesidesAddresses(_ slot: UInt32, _ key: FlowKey) -> Bool {
    let rule = hot[Int(slot)]
    return rule.matchesPortsProtocolAndDSCP(key)
      && (rule.needsExtras ? extras[Int(slot)].matches(key) : key.interfaceID == 0)
  }
}
