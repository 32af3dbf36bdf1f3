/// A set of 32-bit slot numbers in an open-addressing table, hashed and compared through
/// whatever the slots refer to: the caller passes each slot's hash and the equality test.
///
/// Each 8-byte entry keeps the slot beside the high 32 bits of its hash. Those bits give the
/// entry's home bucket, so growing and backward-shift deletion never look at the records the
/// slots refer to, and a probe calls the caller's equality test only when the stored bits
/// equal the key's (the bits above the table's mask filter the rest). On a large registry a
/// record is a cache miss: this keeps a removal to about one record read, where a table of
/// bare slots read the record of every entry it shifted.
///
/// Linear probing, at most 4/5 full (long runs cost only arithmetic on one or two lines),
/// backward-shift deletion (no tombstones), doubling growth. Memory: 8 bytes per entry, 10–20
/// bytes per element.
///
/// Control-path only (inserts, removes, duplicate checks); lookup-path tables are written
/// out in their structures so the probe loop is inlined.
public struct SlotHashSet: Sendable {
  /// `hash >> 32 << 32 | slot`, or `empty`.
  @usableFromInline internal var _entries: [UInt64]
  @usableFromInline internal var _mask: Int
  public private(set) var count = 0
  public let seed: UInt64

  @usableFromInline static let empty = UInt64.max

  public init(seed: UInt64 = SeededHash.randomSeed(), minimumCapacity: Int = 16) {
    var capacity = 16
    while capacity * 4 < minimumCapacity * 5 { capacity <<= 1 }
    _entries = Array(repeating: Self.empty, count: capacity)
    _mask = capacity - 1
    self.seed = seed
  }

  public var capacity: Int { _entries.count }
  public var memoryFootprint: Int { _entries.capacity * MemoryLayout<UInt64>.stride }

  /// The stored hash bits of a hash (its high half).
  @inlinable @inline(__always)
  static func _bits(_ hash: UInt64) -> UInt64 { hash & 0xFFFF_FFFF_0000_0000 }

  /// The home bucket of an entry or hash (from the high half, which the entry keeps).
  @inlinable @inline(__always)
  func _home(_ hashOrEntry: UInt64) -> Int { Int(truncatingIfNeeded: hashOrEntry &>> 32) & _mask }

  /// The stored slot for which `matches` holds, probing from `hash`.
  @inlinable
  public func find(hash: UInt64, matches: (UInt32) -> Bool) -> UInt32? {
    let bits = Self._bits(hash)
    var i = _home(hash)
    while true {
      let entry = _entries[i]
      if entry == Self.empty { return nil }
      if Self._bits(entry) == bits, matches(UInt32(truncatingIfNeeded: entry)) {
        return UInt32(truncatingIfNeeded: entry)
      }
      i = (i &+ 1) & _mask
    }
  }

  /// Adds a slot (the caller has checked it is not present).
  public mutating func insert(_ slot: UInt32, hash: UInt64) {
    precondition(slot != UInt32.max, "SlotHashSet: slot \(slot) is reserved")
    if (count + 1) * 5 > _entries.count * 4 { _grow() }
    var i = _home(hash)
    while _entries[i] != Self.empty { i = (i &+ 1) & _mask }
    _entries[i] = Self._bits(hash) | UInt64(slot)
    count += 1
  }

  /// Removes a stored slot whose hash is `hash`.
  public mutating func remove(_ slot: UInt32, hash: UInt64) {
    let entry = Self._bits(hash) | UInt64(slot)
    var i = _home(hash)
    while _entries[i] != entry {
      precondition(_entries[i] != Self.empty, "SlotHashSet.remove: slot not present")
      i = (i &+ 1) & _mask
    }
    // Backward shift: move later entries of the probe run into the hole when allowed.
    var hole = i
    var j = (i &+ 1) & _mask
    while _entries[j] != Self.empty {
      let next = _entries[j]
      // The entry at j may move to the hole if its home is not cyclically in (hole, j].
      if (j &- _home(next)) & _mask >= (j &- hole) & _mask {
        _entries[hole] = next
        hole = j
      }
      j = (j &+ 1) & _mask
    }
    _entries[hole] = Self.empty
    count -= 1
  }

  private mutating func _grow() {
    let old = _entries
    _entries = Array(repeating: Self.empty, count: old.count * 2)
    _mask = _entries.count - 1
    for entry in old where entry != Self.empty {
      var i = _home(entry)
      while _entries[i] != Self.empty { i = (i &+ 1) & _mask }
      _entries[i] = entry
    }
  }

  /// Every stored slot (for invariant checks).
  public var slots: [UInt32] { _entries.compactMap { $0 == Self.empty ? nil : UInt32(truncatingIfNeeded: $0) } }

  /// Traps unless every entry is reachable from its home without crossing an empty bucket
  /// and the count is right (for the owners' invariant checks).
  public func checkInvariants() {
    var stored = 0
    for i in _entries.indices where _entries[i] != Self.empty {
      stored += 1
      var j = _home(_entries[i])
      while j != i {
        precondition(_entries[j] != Self.empty, "SlotHashSet: entry unreachable from its home")
        j = (j + 1) & _mask
      }
    }
    precondition(stored == count && count * 5 <= _entries.count * 4, "SlotHashSet: count or load wrong")
  }
}
