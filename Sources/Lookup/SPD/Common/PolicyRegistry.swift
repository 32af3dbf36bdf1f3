/// The bookkeeping every SPD structure shares: which policies exist, their indexes, their
/// ages, the duplicate check and the default actions. A structure keeps one registry beside
/// its own lookup index and asks it *first*; only when the registry accepts a change does
/// the structure touch its index, so a refused change leaves everything as it was.
///
/// Ages: each insert or replacement takes the next `position` (a 64-bit counter, so it
/// never wraps in practice); a lower position is older. This is the kernel's `pos`.
///
/// Indexes follow the kernel's `xfrm_gen_index`: a generator that steps by 8, OR-ed with
/// the direction, skipping 0 and indexes in use; an explicit index must carry its direction
/// in its low three bits.
///
/// Complexity: add, update and remove are O(1) expected (two hash lookups).
public struct PolicyRegistry: Sendable {
  /// A stored policy and its age.
  public struct Record: Hashable, Sendable {
    public var policy: Policy
    /// Lower = older. Ties between equal priorities go to the lower position.
    public var position: UInt64
  }

  /// What an `update` did.
  public enum Change: Sendable {
    case added(Record)
    case replaced(old: Record, new: Record)
  }

  public private(set) var records: [UInt32: Record] = [:]
  @usableFromInline internal var _identities: [PolicyIdentity: UInt32] = [:]
  @usableFromInline internal var _nextPosition: UInt64 = 1
  @usableFromInline internal var _indexGenerator: UInt32 = 0
  public var defaultActions = DefaultActions()

  public init() {}

  public var count: Int { records.count }

  /// Adds a policy (exclusive create). Returns the stored record (index filled in).
  /// - Throws: `.policyExists`, `.indexInUse`, `.indexDirectionMismatch`, `.tooManyTemplates`.
  public mutating func add(_ policy: Policy) throws(LookupError) -> Record {
    try Self.validate(policy)
    if let existing = _identities[policy.identity] { throw .policyExists(existingIndex: existing) }
    return try _insertNew(policy)
  }

  /// Adds a policy or replaces the one with its identity (keeping the index, new age).
  public mutating func update(_ policy: Policy) throws(LookupError) -> Change {
    try Self.validate(policy)
    guard let index = _identities[policy.identity], let old = records[index] else {
      return .added(try _insertNew(policy))
    }
    if policy.index != 0 && policy.index != index {
      // The kernel keeps the replaced policy's index; an explicit different one is refused.
      throw .indexInUse(index)
    }
    var replacement = policy
    replacement.index = index
    let new = Record(policy: replacement, position: _takePosition())
    records[index] = new
    return .replaced(old: old, new: new)
  }

  /// Removes the policy with this index.
  public mutating func remove(index: UInt32) throws(LookupError) -> Record {
    guard let record = records.removeValue(forKey: index) else { throw .policyNotFound(index: index) }
    _identities.removeValue(forKey: record.policy.identity)
    return record
  }

  /// Every record, oldest first.
  public var recordsByAge: [Record] {
    records.values.sorted { $0.position < $1.position }
  }

  /// Approximate heap bytes of the two dictionaries and the stored policies.
  public var memoryFootprint: Int {
    let recordBytes = records.capacity * (MemoryLayout<UInt32>.stride + MemoryLayout<Record>.stride)
    let identityBytes = _identities.capacity * (MemoryLayout<PolicyIdentity>.stride + MemoryLayout<UInt32>.stride)
    let templateBytes = records.values.reduce(0) { $0 + $1.policy.templates.capacity * MemoryLayout<PolicyTemplate>.stride }
    return recordBytes + identityBytes + templateBytes
  }

  // MARK: - Internals

  private static func validate(_ policy: Policy) throws(LookupError) {
    if policy.templates.count > Policy.maximumTemplates { throw .tooManyTemplates(policy.templates.count) }
    if policy.index != 0 && policy.index & 7 != UInt32(policy.direction.rawValue) {
      throw .indexDirectionMismatch(index: policy.index, direction: policy.direction)
    }
  }

  private mutating func _insertNew(_ policy: Policy) throws(LookupError) -> Record {
    var stored = policy
    if stored.index == 0 {
      stored.index = _generateIndex(direction: policy.direction)
    } else if records[stored.index] != nil {
      throw .indexInUse(stored.index)
    }
    let record = Record(policy: stored, position: _takePosition())
    records[stored.index] = record
    _identities[stored.identity] = stored.index
    return record
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
      if records[index] == nil { return index }
    }
  }
}
