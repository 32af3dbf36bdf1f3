/// The bookkeeping every SPD structure shares: which policies exist, where their data lives,
/// their indexes and ages, the duplicate check and the default actions.
///
/// Storage. Each live policy occupies a *slot*: `rules[slot]` is its hot `PolicyRule`
/// (128 bytes) and `templates[slot]` its templates. Free slots are reused (a free list). SPD
/// indexes hold slot numbers, never copies of policies, so a policy's data exists once.
///
/// Changes. A structure asks the registry *first*; only when the registry accepts a change
/// does the structure touch its own index, so a refused change leaves everything as it was.
///
/// Ages. Each insert or replacement takes the next `position` (64-bit, never wraps in
/// practice); lower is older. This is the kernel's `pos`.
///
/// Indexes follow the kernel's `xfrm_gen_index`: a generator stepping by 8, OR-ed with the
/// direction, skipping 0 and indexes in use; an explicit index must carry its direction in
/// its low three bits.
///
/// Complexity: add, update, remove O(1) expected. Memory: 128 + 8 (templates) + ~8 (identity
/// set) + ~8 (index set) ≈ 150 bytes per policy.
public struct PolicyRegistry: Sendable {
  /// The hot record of each slot. Free slots hold a rule with index 0.
  public private(set) var rules: [PolicyRule] = []
  /// The templates of each slot.
  public private(set) var templates: [[PolicyTemplate]] = []
  @usableFromInline internal var _freeSlots: [UInt32] = []
  @usableFromInline internal var _byIdentity: SlotHashSet
  @usableFromInline internal var _byIndex: SlotHashSet
  @usableFromInline internal var _nextPosition: UInt64 = 1
  @usableFromInline internal var _indexGenerator: UInt32 = 0
  public private(set) var count = 0
  public var defaultActions = DefaultActions()

  public init(seed: UInt64 = SeededHash.randomSeed()) {
    _byIdentity = SlotHashSet(seed: seed)
    _byIndex = SlotHashSet(seed: seed &+ 1)
  }

  /// What `update` did.
  public enum Change: Sendable {
    /// A new policy in `slot`.
    case added(slot: UInt32)
    /// The policy in `slot` was replaced; `old` is its rule before (same index, older age).
    case replaced(slot: UInt32, old: PolicyRule)
  }

  // MARK: Queries

  /// The slot of the policy with this index.
  @inlinable
  public func slot(forIndex index: UInt32) -> UInt32? {
    _byIndex.find(hash: SeededHash.mix(_byIndex.seed, UInt64(index))) { rules[Int($0)].index == index }
  }

  /// The full policy in a slot.
  public func policy(atSlot slot: UInt32) -> Policy {
    rules[Int(slot)].policy(templates: templates[Int(slot)])
  }

  /// The policy with this index.
  public func policy(index: UInt32) -> Policy? {
    slot(forIndex: index).map(policy(atSlot:))
  }

  /// The live slots, oldest policy first.
  public var slotsByAge: [UInt32] {
    _byIndex.slots.sorted { rules[Int($0)].position < rules[Int($1)].position }
  }

  /// Every live slot, in no particular order.
  public var liveSlots: [UInt32] { _byIndex.slots }

  /// Heap bytes of the registry (rules, templates, free list, the two hash sets).
  public var memoryFootprint: Int {
    rules.capacity * MemoryLayout<PolicyRule>.stride
      + templates.capacity * MemoryLayout<[PolicyTemplate]>.stride
      + templates.reduce(0) { $0 + $1.capacity * MemoryLayout<PolicyTemplate>.stride }
      + _freeSlots.capacity * 4 + _byIdentity.memoryFootprint + _byIndex.memoryFootprint
  }

  // MARK: Changes

  /// Adds a policy (exclusive create). Returns its slot; `rules[slot].index` is its index.
  /// - Throws: `.policyExists`, `.indexInUse`, `.indexDirectionMismatch`, `.tooManyTemplates`.
  public mutating func add(_ policy: Policy) throws(LookupError) -> UInt32 {
    try Self.validate(policy)
    let candidate = PolicyRule(policy, position: 0)
    if let existing = _slot(withIdentityOf: candidate) {
      throw .policyExists(existingIndex: rules[Int(existing)].index)
    }
    return try _insertNew(policy, candidate)
  }

  /// Adds a policy, or replaces the one with its identity (keeping the index, new age).
  public mutating func update(_ policy: Policy) throws(LookupError) -> Change {
    try Self.validate(policy)
    let candidate = PolicyRule(policy, position: 0)
    guard let slot = _slot(withIdentityOf: candidate) else {
      return .added(slot: try _insertNew(policy, candidate))
    }
    let old = rules[Int(slot)]
    // The kernel keeps the replaced policy's index; an explicit different one is refused.
    if policy.index != 0 && policy.index != old.index { throw .indexInUse(old.index) }
    var replacement = candidate
    replacement.index = old.index
    replacement.position = _takePosition()
    // Identity and index are unchanged, so neither hash set moves.
    rules[Int(slot)] = replacement
    templates[Int(slot)] = policy.templates
    return .replaced(slot: slot, old: old)
  }

  /// Removes the policy with this index. Returns its slot (now free) and its last rule.
  public mutating func remove(index: UInt32) throws(LookupError) -> (slot: UInt32, rule: PolicyRule) {
    guard let slot = slot(forIndex: index) else { throw .policyNotFound(index: index) }
    let rule = rules[Int(slot)]
    do {
      // The closures read the rules while the sets mutate: give them their own reference,
      // dropped before `rules` changes (so no copy is made).
      let rulesView = rules
      let identitySeed = _byIdentity.seed, indexSeed = _byIndex.seed
      _byIdentity.remove(slot, hash: rule.identityHash(seed: identitySeed)) {
        rulesView[Int($0)].identityHash(seed: identitySeed)
      }
      _byIndex.remove(slot, hash: SeededHash.mix(indexSeed, UInt64(index))) {
        SeededHash.mix(indexSeed, UInt64(rulesView[Int($0)].index))
      }
    }
    rules[Int(slot)].index = 0
    templates[Int(slot)] = []
    _freeSlots.append(slot)
    count -= 1
    return (slot, rule)
  }

  // MARK: Internals

  private static func validate(_ policy: Policy) throws(LookupError) {
    if policy.templates.count > Policy.maximumTemplates { throw .tooManyTemplates(policy.templates.count) }
    if policy.index != 0 && policy.index & 7 != UInt32(policy.direction.rawValue) {
      throw .indexDirectionMismatch(index: policy.index, direction: policy.direction)
    }
  }

  private func _slot(withIdentityOf candidate: PolicyRule) -> UInt32? {
    _byIdentity.find(hash: candidate.identityHash(seed: _byIdentity.seed)) {
      rules[Int($0)].hasSameIdentity(as: candidate)
    }
  }

  private mutating func _insertNew(_ policy: Policy, _ candidate: PolicyRule) throws(LookupError) -> UInt32 {
    var rule = candidate
    if rule.index == 0 {
      rule.index = _generateIndex(direction: policy.direction)
    } else if slot(forIndex: rule.index) != nil {
      throw .indexInUse(rule.index)
    }
    rule.position = _takePosition()
    let slot: UInt32
    if let free = _freeSlots.popLast() {
      slot = free
      rules[Int(slot)] = rule
      templates[Int(slot)] = policy.templates
    } else {
      slot = UInt32(rules.count)
      rules.append(rule)
      templates.append(policy.templates)
    }
    let identitySeed = _byIdentity.seed, indexSeed = _byIndex.seed
    let rulesView = rules  // see `remove`: no copy, `rules` does not change below
    _byIdentity.insert(slot, hash: rule.identityHash(seed: identitySeed)) {
      rulesView[Int($0)].identityHash(seed: identitySeed)
    }
    _byIndex.insert(slot, hash: SeededHash.mix(indexSeed, UInt64(rule.index))) {
      SeededHash.mix(indexSeed, UInt64(rulesView[Int($0)].index))
    }
    count += 1
    return slot
  }

  private mutating func _takePosition() -> UInt64 {
    defer { _nextPosition &+= 1 }
    return _nextPosition
  }

  private mutating func _generateIndex(direction: PolicyDirection) -> UInt32 {
    while true {
      var index = _indexGenerator | UInt32(direction.rawValue)
      _indexGenerator &+= 8
      if index == 0 { index = 8 }
      if slot(forIndex: index) == nil { return index }
    }
  }

  /// Traps on a broken invariant: the hash sets hold exactly the live slots, identities are
  /// unique, free slots are empty.
  public func checkInvariants() {
    let live = Set(_byIndex.slots)
    precondition(live.count == count && Set(_byIdentity.slots) == live, "registry hash sets disagree")
    for slot in live {
      precondition(rules[Int(slot)].index != 0, "live slot without index")
      precondition(self.slot(forIndex: rules[Int(slot)].index) == slot, "index set cannot find a live slot")
      precondition(_slot(withIdentityOf: rules[Int(slot)]) == slot, "identity set cannot find a live slot")
    }
    for slot in _freeSlots { precondition(rules[Int(slot)].index == 0 && !live.contains(slot), "bad free slot") }
  }
}
