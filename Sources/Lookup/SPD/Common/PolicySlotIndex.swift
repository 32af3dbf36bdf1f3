/// The best match found so far in a search: a rank (`PolicyRule.rank`) and a slot.
/// Searches only ever replace it with a strictly better (lower) rank.
public struct PolicyMatchCandidate: Sendable {
  public var rank: UInt128
  public var slot: UInt32

  @inlinable public init() {
    rank = .max
    slot = .max
  }

  @inlinable public var found: Bool { slot != .max }
}

/// A search structure over the registry's slots: what distinguishes one SPD structure from
/// another. The registry owns the policies; an index only records where each slot can be
/// found and searches the slots a flow could match.
///
/// Contract: after `link`/`unlink` calls mirroring the registry's live slots, `search`
/// lowers `best` to the rank of the best-ranked live rule matching `key`, if that beats the
/// `best` it was given (so several indexes can be searched in turn, as the kernel combines
/// its exact hash with its inexact tree).
public protocol PolicySlotIndex: Sendable {
  init()

  /// Records a live slot; `rules[slot]` is its rule.
  mutating func link(_ slot: UInt32, rules: [PolicyRule])

  /// Forgets a slot whose rule was `rule` (the registry may already hold a replacement in
  /// `rules[slot]`; use `rule` for the slot itself, `rules` for every other slot).
  mutating func unlink(_ slot: UInt32, rule: PolicyRule, rules: [PolicyRule])

  /// Lowers `best` to the best-ranked matching rule, if better than `best`.
  func search(_ key: FlowKey, context: UInt8, rules: UnsafeBufferPointer<PolicyRule>,
              best: inout PolicyMatchCandidate)

  /// The heap bytes of the index (not counting the registry).
  var memoryFootprint: Int { get }

  /// Named counters describing the index.
  var statistics: [LookupStatistics.Counter] { get }

  /// Walks the index and traps on a broken invariant; `liveSlots` are the registry's.
  func checkInvariants(rules: [PolicyRule], liveSlots: [UInt32])
}

/// An SPD structure made of the shared `PolicyRegistry` and one `PolicySlotIndex`: the
/// protocol extension implements all of `PolicyDatabase` once, so each structure only names
/// its index (and documents it).
public protocol SlotIndexedPolicyDatabase: PolicyDatabase {
  associatedtype SlotIndex: PolicySlotIndex
  var _registry: PolicyRegistry { get set }
  var _index: SlotIndex { get set }
}

extension SlotIndexedPolicyDatabase {
  public var defaultActions: DefaultActions {
    get { _registry.defaultActions }
    set { _registry.defaultActions = newValue }
  }

  public var count: Int { _registry.count }

  @discardableResult
  public mutating func insert(_ policy: Policy) throws(LookupError) -> UInt32 {
    let slot = try _registry.add(policy)
    _index.link(slot, rules: _registry.rules)
    return _registry.rules[Int(slot)].index
  }

  @discardableResult
  public mutating func update(_ policy: Policy) throws(LookupError) -> UInt32 {
    switch try _registry.update(policy) {
    case .added(let slot):
      _index.link(slot, rules: _registry.rules)
      return _registry.rules[Int(slot)].index
    case .replaced(let slot, let old):
      _index.unlink(slot, rule: old, rules: _registry.rules)
      _index.link(slot, rules: _registry.rules)
      return old.index
    }
  }

  @discardableResult
  public mutating func remove(_ index: UInt32) throws(LookupError) -> Policy {
    let template = _registry.slot(forIndex: index).map { _registry.templates[Int($0)] } ?? []
    let (slot, rule) = try _registry.remove(index: index)
    _index.unlink(slot, rule: rule, rules: _registry.rules)
    return rule.policy(templates: template)
  }

  @inlinable
  public func lookup(_ key: FlowKey) -> PolicyLookupResult {
    let context = PolicyRule.context(of: key)
    return _registry.rules.withUnsafeBufferPointer { rules in
      var best = PolicyMatchCandidate()
      _index.search(key, context: context, rules: rules, best: &best)
      guard best.found else { return .noMatch(_registry.defaultActions[key.direction]) }
      let rule = rules[Int(best.slot)]
      return PolicyLookupResult(index: rule.index, action: rule.action)
    }
  }

  public func policy(index: UInt32) -> Policy? { _registry.policy(index: index) }

  public var policies: [Policy] { _registry.slotsByAge.map(_registry.policy(atSlot:)) }

  /// Registry plus index.
  public var memoryFootprint: Int { _registry.memoryFootprint + _index.memoryFootprint }

  public var statistics: LookupStatistics {
    LookupStatistics([LookupStatistics.Counter("policies", count),
                      LookupStatistics.Counter("registry bytes", _registry.memoryFootprint),
                      LookupStatistics.Counter("index bytes", _index.memoryFootprint)] + _index.statistics)
  }

  /// Walks registry and index and traps on a broken invariant. Tests call it after changes.
  public func checkInvariants() {
    _registry.checkInvariants()
    _index.checkInvariants(rules: _registry.rules, liveSlots: _registry.liveSlots)
  }
}
