// LinearPolicyTable — the executable specification of the SPD.
//
// Idea
//   One array of every policy, kept sorted by (priority, position): lowest priority value
//   first, and among equal priorities the older (lower position) first. A lookup walks the
//   array and returns the first policy whose predicate matches (`PolicyMatcher`), which is
//   by construction the policy SEMANTICS.md says wins. No match → index 0 and the
//   direction's default action. This is the kernel's historic single list, "ordered by
//   priority, first match wins", which its newer structures are designed to reproduce.
//
// Complexity (n policies)
//   lookup O(n) matcher checks (early exit at the first match); insert and remove O(n)
//   (binary search for the place, then an array shift); update = remove + insert.
//
// Memory
//   One `_LinearRule` (≈ 128 bytes of plain integers) per policy in one contiguous array,
//   plus the shared `PolicyRegistry` (the policies themselves, two dictionaries).
//
// Good at / bad at
//   Obviously right, cache-friendly for small sets, and the reference every other structure
//   is tested against. Lookup cost grows linearly: at 10k policies a miss checks all 10k.
//
// Thread safety
//   A value type. Lookups do not mutate; concurrent lookups on a table that is not being
//   changed are safe. Changes need exclusive access (or a copy: copy-on-write arrays).

/// The reference SPD: a priority-ordered list scanned linearly. See the file comment.
public struct LinearPolicyTable: PolicyDatabase, Sendable {
  @usableFromInline
  internal struct _LinearRule: Sendable {
    @usableFromInline var matcher: PolicyMatcher
    @usableFromInline var priority: UInt32
    @usableFromInline var index: UInt32
    @usableFromInline var position: UInt64
    @usableFromInline var action: PolicyAction

    @inlinable
    init(_ record: PolicyRegistry.Record) {
      matcher = PolicyMatcher(record.policy)
      priority = record.policy.priority
      index = record.policy.index
      position = record.position
      action = record.policy.action
    }

    /// Whether `self` ranks before a rule of (priority, position).
    @inlinable
    func ranksBefore(priority p: UInt32, position q: UInt64) -> Bool {
      priority < p || (priority == p && position < q)
    }
  }

  @usableFromInline internal var _registry = PolicyRegistry()
  @usableFromInline internal var _rules: [_LinearRule] = []

  public init() {}

  public var defaultActions: DefaultActions {
    get { _registry.defaultActions }
    set { _registry.defaultActions = newValue }
  }

  public var count: Int { _rules.count }

  @discardableResult
  public mutating func insert(_ policy: Policy) throws(LookupError) -> UInt32 {
    let record = try _registry.add(policy)
    _place(record)
    return record.policy.index
  }

  @discardableResult
  public mutating func update(_ policy: Policy) throws(LookupError) -> UInt32 {
    switch try _registry.update(policy) {
    case .added(let record):
      _place(record)
        return record.policy.index
    case .replaced(let old, let new):
      _unplace(old)
      _place(new)
        return new.policy.index
    }
  }

  @discardableResult
  public mutating func remove(_ index: UInt32) throws(LookupError) -> Policy {
    let record = try _registry.remove(index: index)
    _unplace(record)
    return record.policy
  }

  @inlinable
  public func lookup(_ key: FlowKey) -> PolicyLookupResult {
    let context = PolicyMatcher.context(of: key)
    return _rules.withUnsafeBufferPointer { rules in
      for rule in rules where rule.matcher.matches(key, context: context) {
        return PolicyLookupResult(index: rule.index, action: rule.action)
      }
      return .noMatch(_registry.defaultActions[key.direction])
    }
  }

  public func policy(index: UInt32) -> Policy? { _registry.records[index]?.policy }

  public var policies: [Policy] { _registry.recordsByAge.map(\.policy) }

  public var memoryFootprint: Int {
    _rules.capacity * MemoryLayout<_LinearRule>.stride + _registry.memoryFootprint
  }

  public var statistics: LookupStatistics {
    LookupStatistics(["policies": count, "bytes per rule": MemoryLayout<_LinearRule>.stride])
  }

  // MARK: - Internals

  /// The array position where a rule of (priority, position) belongs.
  private func _slot(priority: UInt32, position: UInt64) -> Int {
    var low = 0, high = _rules.count
    while low < high {
      let mid = (low + high) / 2
      if _rules[mid].ranksBefore(priority: priority, position: position) { low = mid + 1 } else { high = mid }
    }
    return low
  }

  private mutating func _place(_ record: PolicyRegistry.Record) {
    _rules.insert(_LinearRule(record), at: _slot(priority: record.policy.priority, position: record.position))
  }

  private mutating func _unplace(_ record: PolicyRegistry.Record) {
    let slot = _slot(priority: record.policy.priority, position: record.position)
    precondition(slot < _rules.count && _rules[slot].index == record.policy.index, "LinearPolicyTable out of sync")
    _rules.remove(at: slot)
  }

  /// Walks the whole structure (O(n)) and traps on a broken invariant: the array is strictly
  /// ordered by (priority, position) and mirrors the registry. Tests call it after changes.
  public func checkInvariants() {
    precondition(_rules.count == _registry.count, "rule count differs from registry")
    for i in _rules.indices {
      if i > 0 {
        precondition(_rules[i - 1].ranksBefore(priority: _rules[i].priority, position: _rules[i].position),
                     "rules out of (priority, position) order at \(i)")
      }
      guard let record = _registry.records[_rules[i].index] else { preconditionFailure("rule without policy") }
      precondition(record.position == _rules[i].position && record.policy.priority == _rules[i].priority,
                   "rule disagrees with its policy")
    }
  }
}
