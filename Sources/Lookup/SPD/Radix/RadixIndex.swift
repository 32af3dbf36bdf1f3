/// The index of `RadixPolicyTree`: one `RadixForest` per address family (32-bit keys for
/// IPv4, 128-bit for IPv6), each with a destination trie of source tries per context byte.
/// See `RadixPolicyTree` for the design.
public struct RadixIndex: PolicySlotIndex {
  @usableFromInline internal var _ipv4 = RadixForest<UInt32>()
  @usableFromInline internal var _ipv6 = RadixForest<UInt128>()

  public init() {}

  public mutating func link(_ slot: UInt32, rules: LineAlignedArray<PolicyRule>) {
    let rule = rules[Int(slot)]
    if rule.context & 1 == 0 {
      _ipv4.link(slot, rule: rule, rules: rules)
    } else {
      _ipv6.link(slot, rule: rule, rules: rules)
    }
  }

  public mutating func unlink(_ slot: UInt32, rule: PolicyRule, rules: LineAlignedArray<PolicyRule>) {
    if rule.context & 1 == 0 {
      _ipv4.unlink(slot, rule: rule, rules: rules)
    } else {
      _ipv6.unlink(slot, rule: rule, rules: rules)
    }
  }

  /// Starts the loads of the slot's holder node and its parent (see `RadixForest`).
  public mutating func prepareToUnlink(_ slot: UInt32) {
    _ipv4.prepareToUnlink(slot)
    if !_ipv6._holders.isEmpty { _ipv6.prepareToUnlink(slot) }
  }

  @inlinable
  public func search(_ key: FlowKey, context: UInt8, rules: PolicyRules,
                     best: inout PolicyMatchCandidate) {
    if context & 1 == 0 {
      _ipv4.search(key, context: context, rules: rules, best: &best)
    } else {
      _ipv6.search(key, context: context, rules: rules, best: &best)
    }
  }

  public var memoryFootprint: Int { _ipv4.memoryFootprint + _ipv6.memoryFootprint }

  public var statistics: [LookupStatistics.Counter] {
    [LookupStatistics.Counter("destination nodes", _ipv4.destinationNodeCount + _ipv6.destinationNodeCount),
     LookupStatistics.Counter("source nodes", _ipv4.sourceNodeCount + _ipv6.sourceNodeCount),
     LookupStatistics.Counter("max list length", Swift.max(_ipv4.maximumListLength, _ipv6.maximumListLength)),
     LookupStatistics.Counter("list words", _ipv4._lists.wordsInUse + _ipv6._lists.wordsInUse),
     LookupStatistics.Counter("holder map bytes", (_ipv4._holders.capacity + _ipv6._holders.capacity) * 4)]
  }

  /// A full walk: every live slot appears exactly once, in the list of the node of its
  /// masked (destination, source) prefixes under its context; lists are strictly by rank;
  /// every child extends its parent's prefix on the right side and names its parent (the
  /// destination node, for a source trie's root); every listed slot's holder entry names its
  /// node, and no other entry is set; no node is left that has
  /// neither a payload nor two children; cached minimum priorities are exact; node counters,
  /// list words and free lists account for the whole pool.
  public func checkInvariants(rules: LineAlignedArray<PolicyRule>, liveSlots: [UInt32]) {
    var occurrences = [Int](repeating: 0, count: rules.count)
    _ipv4.checkInvariants(rules: rules, family: 0, occurrences: &occurrences)
    _ipv6.checkInvariants(rules: rules, family: 1, occurrences: &occurrences)
    for slot in liveSlots {
      precondition(occurrences[Int(slot)] == 1, "radix: live slot \(slot) listed \(occurrences[Int(slot)]) times")
      occurrences[Int(slot)] = 0
    }
    precondition(!occurrences.contains { $0 != 0 }, "radix: a slot that is not live is listed")
  }
}
