/// The bookkeeping every SPD structure shares: which policies exist, where their data lives,
/// their indexes and ages, the duplicate check and the default actions.
///
/// Storage. Each live policy occupies a *slot*: `rules[slot]` is its hot `PolicyRule`
/// (64 bytes), `extras[slot]` its cold `PolicyRuleExtras` (24 bytes); templates, when a
/// policy has any, live in a side table by slot. Free slots are reused (a free list). SPD
/// indexes hold slot numbers, never copies of policies, so a policy's data exists once.
///
/// Changes. A structure asks the registry *first*; only when the registry accepts a change
/// does the structure touch its own index, so a refused change leaves everything as it was.
///
/// Ages. Each insert or replacement takes the next 32-bit `sequence` (the low half of
/// `PolicyRule.rank`); lower is older. This is the kernel's `pos`. When the counter would
/// overflow, every live rule is renumbered from 1 in sequence order (`renumberings` counts
/// it; ranks keep their order but change value, so indexes that cache ranks rebuild): live
/// sequences are always unique and in age order, so no wider age is stored.
///
/// Indexes follow the kernel's `xfrm_gen_index`: a generator stepping by 8, OR-ed with the
/// direction, skipping 0 and indexes in use; an explicit index must carry its direction in
/// its low three bits.
///
/// Complexity: add, update, remove O(1) expected (renumbering, once per 2³² changes, is
/// O(n log n)). Memory: 64 + 24 bytes per slot (line-aligned arrays grown by an eighth),
/// 10–20 each for the identity and index sets (8-byte entries up to 4/5 full): ≈ 110–130
/// bytes per policy.
public struct PolicyRegistry: Sendable {
  /// The hot record of each slot.
  public private(set) var rules: LineAlignedArray<PolicyRule> = []
  /// The cold record of each slot; `extras[slot].index == 0` marks a free slot.
  public private(set) var extras = LineAlignedArray<PolicyRuleExtras>()
  /// The templates of the slots that have any (most policies in a lookup benchmark have none,
  /// and an empty array per slot would cost 8 bytes each).
  @usableFromInline internal var _templates: [UInt32: [PolicyTemplate]] = [:]
  @usableFromInline internal var _freeSlots: [UInt32] = []
  @usableFromInline internal var _byIdentity: SlotHashSet
  @usableFromInline internal var _byIndex: SlotHashSet
  @usableFromInline internal var _nextSequence: UInt32
  @usableFromInline internal var _indexGenerator: UInt32 = 0
  public private(set) var count = 0
  /// How many times the sequences were renumbered (see the type's discussion).
  public private(set) var renumberings = 0
  public var defaultActions = DefaultActions()

  /// - Parameter firstSequence: where sequences start (tests start near 2³² to exercise the
  ///   renumbering).
  public init(seed: UInt64 = SeededHash.randomSeed(), firstSequence: UInt32 = 1) {
    _byIdentity = SlotHashSet(seed: seed)
    _byIndex = SlotHashSet(seed: seed &+ 1)
    _nextSequence = firstSequence
  }

  /// What `update` did.
  public enum Change: Sendable {
    /// A new policy in `slot`.
    case added(slot: UInt32)
    /// The policy in `slot` was replaced; `old` is its rule before (same index, older age).
    case replaced(slot: UInt32, old: PolicyRule)
  }

  // MARK: Queries

  /// Runs `body` with a read-only view of every slot's rule.
  @inlinable
  public func withRules<R>(_ body: (PolicyRules) throws -> R) rethrows -> R {
    try body(_unsafeRules)
  }

  /// The read-only view `withRules` gives, for read paths that hold the registry's owner
  /// borrowed for their whole run (a batch lookup on a table) and must not capture it in a
  /// closure: read through a closure there, the registry was copied — a retain and release
  /// of each of its arrays per call. Valid while the registry's storage is alive and not
  /// mutated: taken from a database's stored registry (even through a getter's temporary
  /// copy, which shares that storage) for the length of a non-mutating call on it.
  @inlinable
  public var _unsafeRules: PolicyRules {
    PolicyRules(hot: rules._unsafeElements, extras: extras._unsafeElements)
  }

  /// The slot of the policy with this index.
  @inlinable
  public func slot(forIndex index: UInt32) -> UInt32? {
    guard index != 0 else { return nil }
    // The stored hash bits are a permutation of the index: equal bits are the same index,
    // so the slot is found without reading its extras (a cache miss in a large registry).
    return _byIndex.find(hash: Self.indexHash(index, seed: _byIndex.seed)) { _ in true }
  }

  /// The full policy in a slot.
  public func policy(atSlot slot: UInt32) -> Policy {
    Self.policy(rule: rules[Int(slot)], extras: extras[Int(slot)], templates: _templates.isEmpty ? [] : _templates[slot] ?? [])
  }

  /// The policy described by a slot's records (also those `remove` returns).
  public static func policy(rule: PolicyRule, extras extra: PolicyRuleExtras, templates: [PolicyTemplate]) -> Policy {
    let family = rule.family
    let source = AddressPrefix(uncheckedAddress: IPAddress(bits: rule.sourceBits, family: family),
                               length: Int(rule.sourceLength))
    let destination = AddressPrefix(uncheckedAddress: IPAddress(bits: rule.destinationBits, family: family),
                                    length: Int(rule.destinationLength))
    let selector = PolicySelector(
      family: family, source: source, destination: destination,
      sourcePort: rule.sourcePort, destinationPort: rule.destinationPort,
      proto: ProtocolSelector(_raw: rule.proto), ifindex: extra.ifindex, dscp: DSCPSelector(_raw: rule.dscp))
    return Policy(selector: selector, priority: rule.priority, index: extra.index, direction: rule.direction,
                  type: rule.type, action: extra.action, templates: templates,
                  mark: MarkSelector(value: extra.markValue, mask: extra.markMask), interfaceID: extra.interfaceID)
  }

  /// The policy with this index.
  public func policy(index: UInt32) -> Policy? {
    slot(forIndex: index).map(policy(atSlot:))
  }

  /// The live slots, oldest policy first.
  public var slotsByAge: [UInt32] {
    _byIndex.slots.sorted { rules[Int($0)].sequence < rules[Int($1)].sequence }
  }

  /// Every live slot, in no particular order.
  public var liveSlots: [UInt32] { _byIndex.slots }

  /// Heap bytes of the registry (rules, extras, templates, free list, the two hash sets).
  public var memoryFootprint: Int {
    rules.capacity * MemoryLayout<PolicyRule>.stride
      + extras.capacity * MemoryLayout<PolicyRuleExtras>.stride
      + _templates.capacity * (MemoryLayout<UInt32>.stride + MemoryLayout<[PolicyTemplate]>.stride)
      + _templates.values.reduce(0) { $0 + $1.capacity * MemoryLayout<PolicyTemplate>.stride }
      + _freeSlots.capacity * 4 + _byIdentity.memoryFootprint + _byIndex.memoryFootprint
  }

  // MARK: Changes

  /// Adds a policy (exclusive create). Returns its slot; `extras[slot].index` is its index.
  /// - Throws: `.policyExists`, `.indexInUse`, `.indexDirectionMismatch`, `.tooManyTemplates`.
  public mutating func add(_ policy: Policy) throws(LookupError) -> UInt32 {
    try Self.validate(policy)
    let new = _Records(policy, seed: _byIdentity.seed)
    if let existing = _slot(withIdentityOf: new) {
      throw .policyExists(existingIndex: extras[Int(existing)].index)
    }
    return try _insertNew(new, templates: policy.templates)
  }

  /// Adds a policy, or replaces the one with its identity (keeping the index, new age).
  public mutating func update(_ policy: Policy) throws(LookupError) -> Change {
    try Self.validate(policy)
    let new = _Records(policy, seed: _byIdentity.seed)
    guard let slot = _slot(withIdentityOf: new) else {
      return .added(slot: try _insertNew(new, templates: policy.templates))
    }
    let old = rules[Int(slot)]
    let index = extras[Int(slot)].index
    // The kernel keeps the replaced policy's index; an explicit different one is refused.
    if policy.index != 0 && policy.index != index { throw .indexInUse(index) }
    var replacement = policy
    replacement.index = index
    // Identity and index are unchanged, so neither hash set moves.
    rules[Int(slot)] = PolicyRule(replacement, sequence: _takeSequence())
    extras[Int(slot)] = PolicyRuleExtras(replacement)
    _templates[slot] = policy.templates.isEmpty ? nil : policy.templates
    return .replaced(slot: slot, old: old)
  }

  /// Removes the policy with this index. Returns its slot (now free) and its last records.
  public mutating func remove(index: UInt32) throws(LookupError)
  -> (slot: UInt32, rule: PolicyRule, extras: PolicyRuleExtras, templates: [PolicyTemplate]) {
    guard let slot = slot(forIndex: index) else { throw .policyNotFound(index: index) }
    return remove(slot: slot, index: index)
  }

  /// `remove(index:)` for a caller that has already found the slot (`slot(forIndex: index)`),
  /// so that the index set is not searched twice.
  public mutating func remove(slot: UInt32, index: UInt32)
  -> (slot: UInt32, rule: PolicyRule, extras: PolicyRuleExtras, templates: [PolicyTemplate]) {
    precondition(Int(slot) < extras.count && extras[Int(slot)].index == index && index != 0,
                 "PolicyRegistry.remove(slot:index:): slot \(slot) does not hold index \(index)")
    let rule = rules[Int(slot)], extra = extras[Int(slot)]
    // Most policies have no templates: skip the dictionary then.
    let template = _templates.isEmpty ? [] : _templates.removeValue(forKey: slot) ?? []
    _byIdentity.remove(slot, hash: Self.identityHash(rule, extra, seed: _byIdentity.seed))
    _byIndex.remove(slot, hash: Self.indexHash(index, seed: _byIndex.seed))
    extras[Int(slot)].index = 0
    _freeSlots.append(slot)
    count -= 1
    return (slot, rule, extra, template)
  }

  /// The `_byIndex` hash of a policy index: a seeded *permutation* of the 32-bit index in
  /// the high half (the half `SlotHashSet` stores and takes the home bucket from), so two
  /// entries' stored bits are equal exactly when their indexes are. Each step — xor with a
  /// secret, multiply by an odd secret, xor-shift, multiply by an odd constant — is
  /// invertible; the last three are Wellons' `lowbias32` mixer, so every bit of the index
  /// moves the home bucket. Unseeded, crafted indexes could aim at one bucket run; with the
  /// per-registry secrets they cannot.
  @usableFromInline @inline(__always)
  static func indexHash(_ index: UInt32, seed: UInt64) -> UInt64 {
    var x = index ^ UInt32(truncatingIfNeeded: seed)
    x = x &* (UInt32(truncatingIfNeeded: seed &>> 32) | 1)
    x ^= x &>> 16
    x = x &* 0x7FEB_352D
    x ^= x &>> 15
    x = x &* 0x846C_A68B
    x ^= x &>> 16
    return UInt64(x) &<< 32
  }

  // MARK: Identity

  /// A seeded hash of the identity: selector as written, direction, type, mark, if_id.
  @inlinable
  static func identityHash(_ rule: PolicyRule, _ extra: PolicyRuleExtras, seed: UInt64) -> UInt64 {
    var h = SeededHash.mix(seed, rule.sourceBits)
    h = SeededHash.mix(h, rule.destinationBits)
    h = SeededHash.mix(h, UInt64(rule.sourceLength) | UInt64(rule.destinationLength) << 8 | UInt64(rule.context) << 16)
    h = SeededHash.mix(h, UInt64(extra.markValue) | UInt64(extra.markMask) << 32)
    h = SeededHash.mix(h, UInt64(extra.interfaceID) | UInt64(extra.ifindex) << 32)
    h = SeededHash.mix(h, rule.selectorValue & PolicyRule.selectorIdentityBits)
    return SeededHash.mix(h, rule.selectorMask)
  }

  @inlinable
  static func sameIdentity(_ a: PolicyRule, _ ae: PolicyRuleExtras, _ b: PolicyRule, _ be: PolicyRuleExtras) -> Bool {
    a.hasSameSelector(as: b) && ae.markValue == be.markValue && ae.markMask == be.markMask
      && ae.interfaceID == be.interfaceID && ae.ifindex == be.ifindex
  }

  // MARK: Internals

  private static func validate(_ policy: Policy) throws(LookupError) {
    if policy.templates.count > Policy.maximumTemplates { throw .tooManyTemplates(policy.templates.count) }
    // A template's endpoints are of its family (`PolicyTemplate.init` does not throw).
    for template in policy.templates
    where template.source.family != template.family || template.destination.family != template.family {
      throw .familyMismatch
    }
    if policy.index != 0 && policy.index & 7 != UInt32(policy.direction.rawValue) {
      throw .indexDirectionMismatch(index: policy.index, direction: policy.direction)
    }
  }

  /// A policy's two records (sequence and — for a policy without one — index
  /// still to be assigned) and its identity hash: made once per change, not once per use.
  private struct _Records {
    var rule: PolicyRule
    var extra: PolicyRuleExtras
    let identityHash: UInt64
    let direction: PolicyDirection

    init(_ policy: Policy, seed: UInt64) {
      rule = PolicyRule(policy, sequence: 0)
      extra = PolicyRuleExtras(policy)
      identityHash = PolicyRegistry.identityHash(rule, extra, seed: seed)
      direction = policy.direction
    }
  }

  private func _slot(withIdentityOf policy: Policy) -> UInt32? {
    _slot(withIdentityOf: _Records(policy, seed: _byIdentity.seed))
  }

  private func _slot(withIdentityOf new: _Records) -> UInt32? {
    _byIdentity.find(hash: new.identityHash) {
      Self.sameIdentity(rules[Int($0)], extras[Int($0)], new.rule, new.extra)
    }
  }

  private mutating func _insertNew(_ new: _Records, templates: [PolicyTemplate]) throws(LookupError) -> UInt32 {
    var rule = new.rule, extra = new.extra
    if extra.index == 0 {
      extra.index = _generateIndex(direction: new.direction)
    } else if slot(forIndex: extra.index) != nil {
      throw .indexInUse(extra.index)
    }
    rule.index = extra.index
    rule.rank = UInt64(rule.priority) &<< 32 | UInt64(_takeSequence())
    let slot: UInt32
    if let free = _freeSlots.popLast() {
      slot = free
      rules[Int(slot)] = rule
      extras[Int(slot)] = extra
    } else {
      slot = UInt32(rules.count)
      if rules.count == rules.capacity {
        // Grow by an eighth, not the standard library's doubling: these two arrays are most
        // of an SPD's memory, and a full doubling leaves up to half of them unused. A growth
        // is one copy of plain data (about 1 ms at 100k policies), rare next to the inserts
        // that fill it.
        let capacity = rules.count + max(64, rules.count / 8)
        rules.reserveCapacity(capacity)
        extras.reserveCapacity(capacity)
      }
      rules.append(rule)
      extras.append(extra)
    }
    if !templates.isEmpty { _templates[slot] = templates }
    _byIdentity.insert(slot, hash: new.identityHash)
    _byIndex.insert(slot, hash: Self.indexHash(extra.index, seed: _byIndex.seed))
    count += 1
    return slot
  }

  /// The next sequence; renumbers every live rule first when the counter is exhausted.
  private mutating func _takeSequence() -> UInt32 {
    if _nextSequence == .max {
      var sequence: UInt32 = 1
      for slot in slotsByAge {
        rules[Int(slot)].rank = UInt64(rules[Int(slot)].priority) << 32 | UInt64(sequence)
        sequence += 1
      }
      _nextSequence = sequence
      renumberings += 1
    }
    defer { _nextSequence += 1 }
    return _nextSequence
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
  /// unique, free slots are empty, sequences are unique and older than the next one.
  public func checkInvariants() {
    let live = Set(_byIndex.slots)
    precondition(live.count == count && Set(_byIdentity.slots) == live, "registry hash sets disagree")
    _byIdentity.checkInvariants()
    _byIndex.checkInvariants()
    for slot in live {
      precondition(extras[Int(slot)].index != 0, "live slot without index")
      precondition(self.slot(forIndex: extras[Int(slot)].index) == slot, "index set cannot find a live slot")
      precondition(_slot(withIdentityOf: policy(atSlot: slot)) == slot, "identity set cannot find a live slot")
      precondition(rules[Int(slot)].sequence < _nextSequence, "sequence from the future")
    }
    let byAge = slotsByAge
    for (a, b) in zip(byAge, byAge.dropFirst()) {
      precondition(rules[Int(a)].sequence < rules[Int(b)].sequence, "two live rules share a sequence")
    }
    for slot in _freeSlots { precondition(extras[Int(slot)].index == 0 && !live.contains(slot), "bad free slot") }
  }
}
