/// The best match found so far in a search: a rank (`PolicyRule.rank`) and a slot.
/// Searches only ever replace it with a strictly better (lower) rank.
public struct PolicyMatchCandidate: Sendable {
  public var rank: UInt64
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

  /// An empty index with the same configuration (used to rebuild).
  func emptyCopy() -> Self

  /// Records a live slot; `rules[slot]` is its rule.
  mutating func link(_ slot: UInt32, rules: LineAlignedArray<PolicyRule>)

  /// Forgets a slot whose rule was `rule` (the registry may already hold a replacement in
  /// `rules[slot]`; use `rule` for the slot itself, `rules` for every other slot).
  mutating func unlink(_ slot: UInt32, rule: PolicyRule, rules: LineAlignedArray<PolicyRule>)

  /// A hint that `slot` is about to be unlinked, given as soon as its slot is known and
  /// before the registry's own work on the removal: an index whose `unlink` starts with
  /// dependent loads may start them here, so their cache misses overlap the registry's.
  /// Must not change anything (`mutating` only so that the call reaches the index in place:
  /// a non-mutating call through the database's `_index` requirement copies the index, a
  /// retain and release of each of its arrays). Default: nothing.
  mutating func prepareToUnlink(_ slot: UInt32)

  /// Lowers `best` to the best-ranked matching rule, if better than `best`.
  func search(_ key: FlowKey, context: UInt8, rules: PolicyRules, best: inout PolicyMatchCandidate)

  /// The batch form of `search`: lowers `best[i]` for `keys[i]`, whose context bytes are
  /// `contexts[i]`. Indexes override it to overlap the cache misses of a burst; the default
  /// searches key by key.
  func search(_ keys: UnsafeBufferPointer<FlowKey>, contexts: UnsafeBufferPointer<UInt8>, rules: PolicyRules,
              best: UnsafeMutableBufferPointer<PolicyMatchCandidate>)

  /// Whether the batch `search` is worth its bookkeeping (burst buffers of contexts and
  /// candidates) for the index as it is now. When it is not, a batch lookup runs the single
  /// lookup key by key. Default: true.
  var prefersBatchSearch: Bool { get }

  /// The heap bytes of the index (not counting the registry).
  var memoryFootprint: Int { get }

  /// Named counters describing the index.
  var statistics: [LookupStatistics.Counter] { get }

  /// Walks the index and traps on a broken invariant; `liveSlots` are the registry's.
  func checkInvariants(rules: LineAlignedArray<PolicyRule>, liveSlots: [UInt32])
}

extension PolicySlotIndex {
  public func emptyCopy() -> Self { Self() }

  @inlinable public var prefersBatchSearch: Bool { true }

  @inlinable public mutating func prepareToUnlink(_ slot: UInt32) {}

  @inlinable
  public func search(_ keys: UnsafeBufferPointer<FlowKey>, contexts: UnsafeBufferPointer<UInt8>, rules: PolicyRules,
                     best: UnsafeMutableBufferPointer<PolicyMatchCandidate>) {
    for i in keys.indices { search(keys[i], context: contexts[i], rules: rules, best: &best[i]) }
  }
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
    let renumberings = _registry.renumberings
    let slot = try _registry.add(policy)
    if _registry.renumberings != renumberings {
      _rebuildIndex()
    } else {
      let rules = _registry.rules  // read before `_index` is borrowed for the change
      _index.link(slot, rules: rules)
    }
    return _registry.extras[Int(slot)].index
  }

  @discardableResult
  public mutating func update(_ policy: Policy) throws(LookupError) -> UInt32 {
    let renumberings = _registry.renumberings
    let change = try _registry.update(policy)
    if _registry.renumberings != renumberings {
      // Every rank changed value (not order): the index's cached ranks are stale.
      _rebuildIndex()
      switch change {
      case .added(let slot), .replaced(let slot, _): return _registry.extras[Int(slot)].index
      }
    }
    switch change {
    case .added(let slot):
      let rules = _registry.rules
      _index.link(slot, rules: rules)
      return _registry.extras[Int(slot)].index
    case .replaced(let slot, let old):
      let rules = _registry.rules
      _index.unlink(slot, rule: old, rules: rules)
      _index.link(slot, rules: rules)
      return _registry.extras[Int(slot)].index
    }
  }

  @discardableResult
  public mutating func remove(_ index: UInt32) throws(LookupError) -> Policy {
    guard let slot = _registry.slot(forIndex: index) else { throw .policyNotFound(index: index) }
    _index.prepareToUnlink(slot)
    let removed = _registry.remove(slot: slot, index: index)
    let rules = _registry.rules  // read before `_index` is borrowed for the change
    _index.unlink(removed.slot, rule: removed.rule, rules: rules)
    return PolicyRegistry.policy(rule: removed.rule, extras: removed.extras, templates: removed.templates)
  }

  /// Re-creates the index from the registry (after a sequence renumbering).
  public mutating func _rebuildIndex() {
    _index = _index.emptyCopy()
    let rules = _registry.rules
    for slot in _registry.slotsByAge { _index.link(slot, rules: rules) }
  }

  @inlinable @inline(__always)
  public func lookup(_ key: FlowKey) -> PolicyLookupResult {
    let context = PolicyRule.context(of: key)
    return _registry.withRules { rules in
      var best = PolicyMatchCandidate()
      _index.search(key, context: context, rules: rules, best: &best)
      return Self._answer(best, direction: key.direction, rules: rules, defaults: _registry.defaultActions)
    }
  }

  /// A search's answer: the best candidate's policy, or the direction's default action.
  @inlinable @inline(__always)
  static func _answer(_ best: PolicyMatchCandidate, direction: PolicyDirection, rules: PolicyRules,
                      defaults: DefaultActions) -> PolicyLookupResult {
    guard best.found else { return .noMatch(defaults[direction]) }
    let rule = rules[best.slot]
    return PolicyLookupResult(index: rule.index, action: rule.action)
  }

  /// Batch lookup: bursts of up to 64 keys go to the index's batch search, which overlaps
  /// the cache misses of the burst — or, when the index says its batch search does not pay
  /// (`prefersBatchSearch`), single lookups key by key.
  @inlinable
  public func lookup(_ keys: UnsafeBufferPointer<FlowKey>, into results: UnsafeMutableBufferPointer<PolicyLookupResult>) {
    precondition(results.count >= keys.count, "batch result buffer too small")
    // The registry is read before and outside the closures below: read inside them, the
    // specialised batch lookup copied the whole registry (an outlined copy and destroy, a
    // retain and release of each of its arrays: ~400 instructions per call, per group of
    // misses in a flow cache).
    let defaults = _registry.defaultActions
    let rules = _registry._unsafeRules
    guard _index.prefersBatchSearch else {
      // The single search key by key.
      for i in 0..<keys.count {
        let key = keys[i]
        var best = PolicyMatchCandidate()
        _index.search(key, context: PolicyRule.context(of: key), rules: rules, best: &best)
        results[i] = Self._answer(best, direction: key.direction, rules: rules, defaults: defaults)
      }
      return
    }
    Self._lookupInBursts(keys, into: results, index: _index, rules: rules, defaults: defaults)
  }

  /// The batch lookup's bursts through the index's batch search. The index comes in as a
  /// parameter: referenced as `_index` inside the stack-buffer closures, it was copied into
  /// them (a retain and release of each of its arrays per call).
  @inlinable
  static func _lookupInBursts(_ keys: UnsafeBufferPointer<FlowKey>, into results: UnsafeMutableBufferPointer<PolicyLookupResult>,
                              index: SlotIndex, rules: PolicyRules, defaults: DefaultActions) {
    let burst = 64
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: burst) { contexts in
      withUnsafeTemporaryAllocation(of: PolicyMatchCandidate.self, capacity: burst) { best in
        var offset = 0
        while offset < keys.count {
          let count = min(burst, keys.count - offset)
          let chunk = UnsafeBufferPointer(rebasing: keys[offset..<(offset + count)])
          for i in 0..<count {
            contexts[i] = PolicyRule.context(of: chunk[i])
            best[i] = PolicyMatchCandidate()
          }
          index.search(chunk, contexts: UnsafeBufferPointer(rebasing: contexts[0..<count]), rules: rules,
                       best: UnsafeMutableBufferPointer(rebasing: best[0..<count]))
          for i in 0..<count {
            results[offset + i] = Self._answer(best[i], direction: chunk[i].direction, rules: rules, defaults: defaults)
          }
          offset += count
        }
      }
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
