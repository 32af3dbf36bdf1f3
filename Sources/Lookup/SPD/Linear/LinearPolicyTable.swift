// LinearPolicyTable — the executable specification of the SPD.
//
// Idea
//   Every policy's slot in one array kept sorted by (priority, position): lowest priority
//   value first, and among equal priorities the older (lower position) first. A lookup
//   walks the array and returns the first rule whose predicate matches (`PolicyRule`),
//   which is by construction the policy SEMANTICS.md says wins. No match → index 0 and the
//   direction's default action. This is the kernel's historic single list, "ordered by
//   priority, first match wins", which its newer structures are designed to reproduce.
//
// Complexity (n policies)
//   lookup O(n) rule checks (early exit at the first match); insert and remove O(n)
//   (binary search for the place, then an array shift); update = unlink + link.
//
// Memory
//   4 bytes per policy for the order, plus the shared `PolicyRegistry` (≈ 120 bytes per
//   policy: the rules themselves and two hash sets).
//
// Good at / bad at
//   Obviously right, cache-friendly for small sets, and the reference every other structure
//   is tested against. Lookup cost grows linearly: at 10k policies a miss checks all 10k.
//
// Thread safety
//   A value type. Lookups do not mutate; concurrent lookups on a table that is not being
//   changed are safe. Changes need exclusive access (or a copy: copy-on-write arrays).

/// The reference SPD: a priority-ordered list scanned linearly. See the file comment.
public struct LinearPolicyTable: SlotIndexedPolicyDatabase, Sendable {
  public var _registry = PolicyRegistry()
  public var _index = LinearOrder()

  public init() {}
}

/// The index of `LinearPolicyTable`: slots sorted by rank.
public struct LinearOrder: PolicySlotIndex {
  @usableFromInline internal var _order: [UInt32] = []

  public init() {}

  /// The position where a rule of `rank` belongs.
  private func _place(of rank: UInt64, rules: LineAlignedArray<PolicyRule>) -> Int {
    var low = 0, high = _order.count
    while low < high {
      let mid = (low + high) / 2
      if rules[Int(_order[mid])].rank < rank { low = mid + 1 } else { high = mid }
    }
    return low
  }

  public mutating func link(_ slot: UInt32, rules: LineAlignedArray<PolicyRule>) {
    _order.insert(slot, at: _place(of: rules[Int(slot)].rank, rules: rules))
  }

  public mutating func unlink(_ slot: UInt32, rule: PolicyRule, rules: LineAlignedArray<PolicyRule>) {
    // Every other slot's rank is unchanged, so the old rank finds the slot's place.
    var low = 0, high = _order.count
    while low < high {
      let mid = (low + high) / 2
      let s = _order[mid]
      let rank = s == slot ? rule.rank : rules[Int(s)].rank
      if rank < rule.rank { low = mid + 1 } else { high = mid }
    }
    precondition(low < _order.count && _order[low] == slot, "LinearOrder out of sync with the registry")
    _order.remove(at: low)
  }

  @inlinable
  public func search(_ key: FlowKey, context: UInt8, rules: PolicyRules, best: inout PolicyMatchCandidate) {
    _order.withUnsafeBufferPointer { order in
      for slot in order {
        let rank = rules[slot].rank
        if rank >= best.rank { return }
        if rules.matches(slot, key, context: context) {
          best = PolicyMatchCandidate(rank: rank, slot: slot)
          return
        }
      }
    }
  }

  public var memoryFootprint: Int { _order.capacity * MemoryLayout<UInt32>.stride }

  public var statistics: [LookupStatistics.Counter] { [] }

  public func checkInvariants(rules: LineAlignedArray<PolicyRule>, liveSlots: [UInt32]) {
    precondition(Set(_order) == Set(liveSlots) && _order.count == liveSlots.count, "order differs from live slots")
    for i in _order.indices.dropFirst() {
      precondition(rules[Int(_order[i - 1])].rank < rules[Int(_order[i])].rank, "order not strictly by rank at \(i)")
    }
  }
}

extension PolicyMatchCandidate {
  @inlinable
  public init(rank: UInt64, slot: UInt32) {
    self.rank = rank
    self.slot = slot
  }
}
