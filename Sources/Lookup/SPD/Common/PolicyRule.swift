/// The hot record of one policy: what a lookup checks on every candidate, in one 64-byte
/// cache line.
///
/// The `PolicyRegistry` keeps one per live policy in a contiguous, line-aligned array
/// (`LineAlignedArray`: a Swift `Array` would start it at 48 mod 64, splitting every record
/// over two lines) indexed by *slot*,
/// beside a cold `PolicyRuleExtras` array (index, action, mark, if_id, ifindex).
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
/// Ports, protocol and DSCP are packed as a value word and a mask word (`selectorValue`,
/// `selectorMask`), so that a rule without port ranges or extras is checked against a flow
/// with one masked comparison (acl1_10k tuple space: 354 → 334 instructions per lookup).
public struct PolicyRule: Hashable, Sendable, BitwiseCopyable {
  /// Source and destination as written (host bits kept); matching masks them by length.
  public var sourceBits: UInt128
  public var destinationBits: UInt128
  /// priority << 32 | sequence: lower ranks win.
  public var rank: UInt64
  /// Ports, protocol and DSCP as one word, laid out like `selectorWord(of:)` of a flow:
  /// source port in bits 0–15, destination port 16–31, protocol 32–39, DSCP 40–47 — each
  /// field's value, or a port range's low end — and the `Flags` in bits 48–55.
  public var selectorValue: UInt64
  /// The same fields' masks (all ones, or 0 for "any"), or a port range's high end; 0 in
  /// the flag bits. A rule without port ranges matches a flow's word `w` when
  /// `(w ^ selectorValue) & selectorMask == 0`: five instructions for ports, protocol and
  /// DSCP together, where comparing field by field took about twenty-five.
  public var selectorMask: UInt64
  /// The policy index (also in the extras): the answer, without a second cache miss.
  public var index: UInt32
  public var sourceLength: UInt8
  public var destinationLength: UInt8
  /// family | direction << 4 | type << 6 (`PolicyRule.context(...)`).
  public var context: UInt8

  /// Bits of `flags`.
  public enum Flags {
    public static let sourcePortIsRange: UInt8 = 1
    public static let destinationPortIsRange: UInt8 = 2
    /// Mark, if_id or ifindex must be checked against the rule's extras.
    public static let needsExtras: UInt8 = 4
    /// The action is block.
    public static let block: UInt8 = 8
  }

  /// Where the flags sit in `selectorValue`.
  @usableFromInline static var flagShift: UInt64 { 48 }

  @inlinable
  public init(_ policy: Policy, sequence: UInt32) {
    let s = policy.selector
    sourceBits = s.source.address.bits
    destinationBits = s.destination.address.bits
    rank = UInt64(policy.priority) &<< 32 | UInt64(sequence)
    index = policy.index
    var flags: UInt8 = 0
    var value: UInt64 = 0, mask: UInt64 = 0
    if s.sourcePort.isValueMask {
      value |= UInt64(s.sourcePort.value)
      mask |= UInt64(s.sourcePort.mask)
    } else {
      value |= UInt64(s.sourcePort.low)
      mask |= UInt64(s.sourcePort.high)
      flags |= Flags.sourcePortIsRange
    }
    if s.destinationPort.isValueMask {
      value |= UInt64(s.destinationPort.value) &<< 16
      mask |= UInt64(s.destinationPort.mask) &<< 16
    } else {
      value |= UInt64(s.destinationPort.low) &<< 16
      mask |= UInt64(s.destinationPort.high) &<< 16
      flags |= Flags.destinationPortIsRange
    }
    let proto = s.proto._raw  // 0x100 = any
    if proto != 0x100 {
      value |= UInt64(proto & 0xFF) &<< 32
      mask |= 0xFF &<< 32
    }
    let dscp = s.dscp._raw  // 0xFF = any
    if dscp != 0xFF {
      value |= UInt64(dscp) &<< 40
      mask |= 0xFF &<< 40
    }
    sourceLength = s.source.length
    destinationLength = s.destination.length
    context = PolicyRule.context(family: s.family, direction: policy.direction, type: policy.type)
    if policy.mark != .any || policy.interfaceID != 0 || s.ifindex != 0 { flags |= Flags.needsExtras }
    if policy.action == .block { flags |= Flags.block }
    selectorValue = value | UInt64(flags) &<< Self.flagShift
    selectorMask = mask
  }

  /// `Flags`: port forms, extras needed, action.
  @inlinable public var flags: UInt8 { UInt8(truncatingIfNeeded: selectorValue &>> Self.flagShift) }
  /// Each port selector as two halves: (value, mask), or (low, high) when its flag says range.
  @inlinable public var sourcePortA: UInt16 { UInt16(truncatingIfNeeded: selectorValue) }
  @inlinable public var sourcePortB: UInt16 { UInt16(truncatingIfNeeded: selectorMask) }
  @inlinable public var destinationPortA: UInt16 { UInt16(truncatingIfNeeded: selectorValue &>> 16) }
  @inlinable public var destinationPortB: UInt16 { UInt16(truncatingIfNeeded: selectorMask &>> 16) }
  /// 0x100 = any protocol, else the number.
  @inlinable public var proto: UInt16 {
    selectorMask &>> 32 & 0xFF == 0 ? 0x100 : UInt16(truncatingIfNeeded: selectorValue &>> 32 & 0xFF)
  }
  /// 0xFF = any DSCP.
  @inlinable public var dscp: UInt8 {
    selectorMask &>> 40 & 0xFF == 0 ? 0xFF : UInt8(truncatingIfNeeded: selectorValue &>> 40)
  }

  /// A flow's ports, protocol and DSCP in the layout of `selectorValue`.
  @inlinable @inline(__always)
  public static func selectorWord(of key: FlowKey) -> UInt64 {
    UInt64(key.sourcePort) | UInt64(key.destinationPort) &<< 16 | UInt64(key.proto) &<< 32 | UInt64(key.dscp) &<< 40
  }

  /// The source-port selector this rule holds.
  @inlinable public var sourcePort: PortSelector {
    flags & Flags.sourcePortIsRange != 0
      ? PortSelector(_value: 0, mask: 0, low: sourcePortA, high: sourcePortB)
      : PortSelector(value: sourcePortA, mask: sourcePortB)
  }

  /// The destination-port selector this rule holds.
  @inlinable public var destinationPort: PortSelector {
    flags & Flags.destinationPortIsRange != 0
      ? PortSelector(_value: 0, mask: 0, low: destinationPortA, high: destinationPortB)
      : PortSelector(value: destinationPortA, mask: destinationPortB)
  }

  @inlinable public var needsExtras: Bool { flags & Flags.needsExtras != 0 }
  @inlinable public var action: PolicyAction { flags & Flags.block != 0 ? .block : .allow }

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

  /// `matchesAddresses` for an IPv4 rule, on the high words of the left-aligned addresses
  /// (an IPv4 prefix is at most 32 bits long, so its mask is 0 in the low word).
  @inlinable @inline(__always)
  public func matchesIPv4Addresses(source: UInt64, destination: UInt64) -> Bool {
    let ruleSource = UInt64(truncatingIfNeeded: sourceBits &>> 64)
    let ruleDestination = UInt64(truncatingIfNeeded: destinationBits &>> 64)
    // ~(max >> n) is the top-n mask for n in 0...63 (n = 0 gives 0).
    let sourceMask = ~(UInt64.max &>> UInt64(sourceLength))
    let destinationMask = ~(UInt64.max &>> UInt64(destinationLength))
    return ((source ^ ruleSource) & sourceMask) | ((destination ^ ruleDestination) & destinationMask) == 0
  }

  /// Ports, protocol and DSCP (the selector checks besides addresses and ifindex), given
  /// the flow's `selectorWord(of:)`.
  @inlinable @inline(__always)
  public func matchesPortsProtocolAndDSCP(word: UInt64) -> Bool {
    let ranges = selectorValue &>> Self.flagShift & UInt64(Flags.sourcePortIsRange | Flags.destinationPortIsRange)
    if ranges == 0 { return (word ^ selectorValue) & selectorMask == 0 }
    return _matchesWithRanges(word: word, ranges: ranges)
  }

  /// `matchesPortsProtocolAndDSCP` of a rule with a port range: the range fields are
  /// compared as low ≤ port ≤ high, the others as value/mask.
  @inlinable
  func _matchesWithRanges(word: UInt64, ranges: UInt64) -> Bool {
    var mask = selectorMask
    if ranges & UInt64(Flags.sourcePortIsRange) != 0 {
      let port = UInt16(truncatingIfNeeded: word), low = sourcePortA, high = sourcePortB
      if port &- low > high &- low { return false }
      mask &= ~0xFFFF
    }
    if ranges & UInt64(Flags.destinationPortIsRange) != 0 {
      let port = UInt16(truncatingIfNeeded: word &>> 16), low = destinationPortA, high = destinationPortB
      if port &- low > high &- low { return false }
      mask &= ~(0xFFFF &<< 16)
    }
    return (word ^ selectorValue) & mask == 0
  }

  /// Ports, protocol and DSCP of a flow.
  @inlinable @inline(__always)
  public func matchesPortsProtocolAndDSCP(_ key: FlowKey) -> Bool {
    matchesPortsProtocolAndDSCP(word: Self.selectorWord(of: key))
  }

  /// Everything but the context and the addresses — ports, protocol, DSCP, then mark, if_id
  /// and ifindex from `extras` when the rule has them, else if_id 0 — for a flow whose
  /// `selectorWord(of:)` is `word`. A rule with neither port ranges nor extras (nearly
  /// all) is one masked comparison and one test.
  @inlinable @inline(__always)
  public func matchesBesidesAddresses(word: UInt64, _ key: FlowKey, extras: @autoclosure () -> PolicyRuleExtras) -> Bool {
    let special = selectorValue &>> Self.flagShift
      & UInt64(Flags.sourcePortIsRange | Flags.destinationPortIsRange | Flags.needsExtras)
    if special == 0 { return (word ^ selectorValue) & selectorMask == 0 && key.interfaceID == 0 }
    return matchesPortsProtocolAndDSCP(word: word)
      && (special & UInt64(Flags.needsExtras) != 0 ? extras().matches(key) : key.interfaceID == 0)
  }

  /// The bits of `selectorValue` that belong to the selector: the fields and the two
  /// port-form flags (not `needsExtras` or `block`).
  public static let selectorIdentityBits: UInt64 =
    0xFFFF_FFFF_FFFF | UInt64(Flags.sourcePortIsRange | Flags.destinationPortIsRange) &<< 48

  /// Whether two rules have the same selector, direction and type (the identity, less the
  /// mark and if_id, which `PolicyRuleExtras.hasSameIdentity` compares).
  @inlinable
  public func hasSameSelector(as other: PolicyRule) -> Bool {
    sourceBits == other.sourceBits && destinationBits == other.destinationBits
      && sourceLength == other.sourceLength && destinationLength == other.destinationLength
      && context == other.context && selectorMask == other.selectorMask
      && (selectorValue ^ other.selectorValue) & Self.selectorIdentityBits == 0
  }
}

/// The cold part of a policy's record: what only the rare rules with a mark, if_id or
/// ifindex need at lookup time, and the control path.
///
/// 24 bytes: a policy's age is its rule's sequence (`PolicyRule.rank`), which the registry
/// keeps in age order, so no wider age is stored here.
public struct PolicyRuleExtras: Hashable, Sendable, BitwiseCopyable {
  /// The policy index; 0 marks a free slot.
  public var index: UInt32
  public var markValue: UInt32
  public var markMask: UInt32
  public var interfaceID: UInt32
  public var ifindex: UInt32
  public var action: PolicyAction

  @inlinable
  public init(_ policy: Policy) {
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
    return rule.context == context && rule.matchesAddresses(key)
      && rule.matchesBesidesAddresses(word: PolicyRule.selectorWord(of: key), key, extras: extras[Int(slot)])
  }

  /// `matches` for a flow of an IPv4 context (`context & 1 == 0`), given the high words of
  /// its addresses: a rule of that context is IPv4 too, so its prefixes are checked on them.
  @inlinable @inline(__always)
  public func matchesIPv4(_ slot: UInt32, _ key: FlowKey, source: UInt64, destination: UInt64, context: UInt8) -> Bool {
    let rule = hot[Int(slot)]
    return rule.context == context && rule.matchesIPv4Addresses(source: source, destination: destination)
      && rule.matchesBesidesAddresses(word: PolicyRule.selectorWord(of: key), key, extras: extras[Int(slot)])
  }

  /// The predicate without the context and address checks, for indexes whose search has
  /// already placed the flow by its exact prefixes.
  @inlinable @inline(__always)
  public func matchesBesidesAddresses(_ slot: UInt32, _ key: FlowKey) -> Bool {
    matchesBesidesAddresses(slot, key, word: PolicyRule.selectorWord(of: key))
  }

  /// `matchesBesidesAddresses` given the flow's `PolicyRule.selectorWord(of:)`, for loops
  /// that compute it once per lookup.
  @inlinable @inline(__always)
  public func matchesBesidesAddresses(_ slot: UInt32, _ key: FlowKey, word: UInt64) -> Bool {
    hot[Int(slot)].matchesBesidesAddresses(word: word, key, extras: extras[Int(slot)])
  }
}
