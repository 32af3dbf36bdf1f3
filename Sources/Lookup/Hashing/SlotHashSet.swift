/// A set of 32-bit slot numbers in an open-addressing table, hashed and compared through
/// whatever the slots refer to: the caller passes the hash and the equality test. Linear
/// probing, at most half full, backward-shift deletion (no tombstones), doubling growth.
///
/// Control-path only (inserts, removes, duplicate checks); lookup-path tables are written
/// out in their structures so the probe loop is inlined.
public struct SlotHashSet: Sendable {
  @usableFromInline internal var _entries: [UInt32]
  @usableFromInline internal var _mask: Int
  public private(set) var count = 0
  public let seed: UInt64

  @usableFromInline static let empty = UInt32.max

  public init(seed: UInt64 = SeededHash.randomSeed(), minimumCapacity: Int = 16) {
    var capacity = 16
    while capacity < minimumCapacity * 2 { capacity <<= 1 }
    _entries = Array(repeating: Self.empty, count: capacity)
    _mask = capacity - 1
    self.seed = seed
  }

  public var capacity: Int { _entries.count }
  public var memoryFootprint: Int { _entries.capacity * MemoryLayout<UInt32>.stride }

  /// The stored slot for which `matches` holds, probing from `hash`.
  @inlinable
  public func find(hash: UInt64, matches: (UInt32) -> Bool) -> UInt32? {
    var i = Int(truncatingIfNeeded: hash) & _mask
    while true {
      let slot = _entries[i]
      if slot == Self.empty { return nil }
      if matches(slot) { return slot }
      i = (i + 1) & _mask
    }
  }

  /// Calls `body` with every stored slot of the probe run from `hash`'s home: a superset of
  /// the slots whose hash is `hash` (for tables that hold several slots with one key).
  @inlinable
  public func forEachCandidate(hash: UInt64, _ body: (UInt32) -> Void) {
    var i = Int(truncatingIfNeeded: hash) & _mask
    while true {
      let slot = _entries[i]
      if slot == Self.empty { return }
      body(slot)
      i = (i + 1) & _mask
    }
  }

  /// Adds a slot (the caller has checked it is not present). `hashOf` rehashes stored slots
  /// when the table grows.
  public mutating func insert(_ slot: UInt32, hash: UInt64, hashOf: (UInt32) -> UInt64) {
    if (count + 1) * 2 > _entries.count { _grow(hashOf: hashOf) }
    var i = Int(truncatingIfNeeded: hash) & _mask
    while _entries[i] != Self.empty { i = (i + 1) & _mask }
    _entries[i] = slot
    count += 1
  }

  /// Removes a stored slot. `hashOf` gives the hash of any stored slot (for the backward shift).
  public mutating func remove(_ slot: UInt32, hash: UInt64, hashOf: (UInt32) -> UInt64) {
    var i = Int(truncatingIfNeeded: hash) & _mask
    while _entries[i] != slot {
      precondition(_entries[i] != Self.empty, "SlotHashSet.remove: slot not present")
      i = (i + 1) & _mask
    }
    // Backward-shift: move later entries of the probe run into the hole when allowed.
    var hole = i
    var j = (i + 1) & _mask
    while _entries[j] != Self.empty {
      let home = Int(truncatingIfNeeded: hashOf(_entries[j])) & _mask
      // The entry at j may move to the hole if its home is not cyclically in (hole, j].
      let distanceToHome = (j - home) & _mask
      let distanceToHole = (j - hole) & _mask
      if distanceToHome >= distanceToHole {
        _entries[hole] = _entries[j]
        hole = j
      }
      j = (j + 1) & _mask
    }
    _entries[hole] = Self.empty
    count -= 1
  }

  private mutating func _grow(hashOf: (UInt32) -> UInt64) {
    let old = _entries
    _entries = Array(repeating: Self.empty, count: old.count * 2)
    _mask = _entries.count - 1
    for slot in old where slot != Self.empty {
      var i = Int(truncatingIfNeeded: hashOf(slot)) & _mask
      while _entries[i] != Self.empty { i = (i + 1) & _mask }
      _entries[i] = slot
    }
  }

  /// Every stored slot (for invariant checks).
  public var slots: [UInt32] { _entries.filter { $0 != Self.empty } }
}
