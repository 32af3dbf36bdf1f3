/// A key a `SeededHashMap` can hash with a per-table seed.
public protocol SeededHashable: Equatable {
  /// A hash of the key mixed with `seed` (see `SeededHash`).
  func seededHash(_ seed: UInt64) -> UInt64
}

/// A small open-addressing dictionary for tables a structure owns on its lookup path:
/// seeded per instance (not `Hasher`), linear probing, at most half full, backward-shift
/// deletion (no tombstones), doubling growth. Lookups allocate nothing.
public struct SeededHashMap<Key: SeededHashable & Sendable, Value: Sendable>: Sendable {
  @usableFromInline
  internal struct _Entry: Sendable {
    @usableFromInline var key: Key
    @usableFromInline var value: Value
  }

  @usableFromInline internal var _entries: [_Entry?]
  @usableFromInline internal var _mask: Int
  public private(set) var count = 0
  public let seed: UInt64

  public init(seed: UInt64 = SeededHash.randomSeed(), minimumCapacity: Int = 8) {
    var capacity = 16
    while capacity < minimumCapacity * 2 { capacity <<= 1 }
    _entries = Array(repeating: nil, count: capacity)
    _mask = capacity - 1
    self.seed = seed
  }

  public var capacity: Int { _entries.count }
  public var isEmpty: Bool { count == 0 }
  public var memoryFootprint: Int { _entries.capacity * MemoryLayout<_Entry?>.stride }

  @inlinable
  internal func _position(of key: Key) -> Int? {
    var i = Int(truncatingIfNeeded: key.seededHash(seed)) & _mask
    while let entry = _entries[i] {
      if entry.key == key { return i }
      i = (i &+ 1) & _mask
    }
    return nil
  }

  /// The value stored for `key`, or nil.
  @inlinable
  public subscript(key: Key) -> Value? {
    guard let at = _position(of: key) else { return nil }
    return _entries[at]!.value
  }

  /// Stores `value` for `key`; returns the value it replaces.
  @discardableResult
  public mutating func updateValue(_ value: Value, forKey key: Key) -> Value? {
    if let at = _position(of: key) {
      let old = _entries[at]!.value
      _entries[at]!.value = value
      return old
    }
    if (count + 1) * 2 > _entries.count { _grow() }
    _place(_Entry(key: key, value: value))
    count += 1
    return nil
  }

  /// Removes `key`; returns its value.
  @discardableResult
  public mutating func removeValue(forKey key: Key) -> Value? {
    guard let at = _position(of: key) else { return nil }
    let old = _entries[at]!.value
    var hole = at
    var j = (at &+ 1) & _mask
    while let entry = _entries[j] {
      let home = Int(truncatingIfNeeded: entry.key.seededHash(seed)) & _mask
      if (j &- home) & _mask >= (j &- hole) & _mask {
        _entries[hole] = entry
        hole = j
      }
      j = (j &+ 1) & _mask
    }
    _entries[hole] = nil
    count -= 1
    return old
  }

  /// Removes every entry for which `shouldRemove` holds, in place (no allocation).
  /// `shouldRemove` may be called more than once for an entry a backward shift moves.
  public mutating func removeAll(where shouldRemove: (Key, Value) -> Bool) {
    var i = 0
    while i < _entries.count {
      // A removal may shift a later entry into slot i: look at slot i again before moving on.
      guard let entry = _entries[i], shouldRemove(entry.key, entry.value) else {
        i += 1
        continue
      }
      removeValue(forKey: entry.key)
    }
  }

  /// Every (key, value), in table order.
  public var entries: [(key: Key, value: Value)] { _entries.compactMap { $0.map { ($0.key, $0.value) } } }

  private mutating func _place(_ entry: _Entry) {
    var i = Int(truncatingIfNeeded: entry.key.seededHash(seed)) & _mask
    while _entries[i] != nil { i = (i &+ 1) & _mask }
    _entries[i] = entry
  }

  private mutating func _grow() {
    let old = _entries
    _entries = Array(repeating: nil, count: old.count * 2)
    _mask = _entries.count - 1
    for case let entry? in old { _place(entry) }
  }
}
