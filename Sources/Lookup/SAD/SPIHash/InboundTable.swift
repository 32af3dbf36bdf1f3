import CLookupSupport

/// The open-addressing table of `SPIHashTable`: 64-byte buckets on 64-byte boundaries,
/// linear probing, at most half full, backward-shift deletion (no tombstones), doubling.
///
/// All SAs with one key sit in the probe run of that key's home bucket (linear probing
/// keeps a run contiguous up to the first empty bucket), so a lookup that finds its key in
/// a bucket without the `sharedKey` flag can stop there.
///
/// A class only so that it can own its aligned memory; `SPIHashTable` copies it before
/// writing when it is shared (copy on write). Its properties are constants (growing makes a
/// new table), so lookups read them without Swift's dynamic exclusivity checks; the counts
/// live in `SPIHashTable`.
@usableFromInline
internal final class _InboundTable: @unchecked Sendable {
  @usableFromInline internal let _buckets: UnsafeMutablePointer<_InboundBucket>
  @usableFromInline internal let _mask: Int
  @usableFromInline internal let _seed: UInt64
  @usableFromInline internal let _hashing: _InboundHashing

  @usableFromInline static let minimumCapacity = 16

  init(seed: UInt64, capacity: Int = _InboundTable.minimumCapacity) {
    precondition(capacity.nonzeroBitCount == 1)
    _seed = seed
    _hashing = _InboundHashing(seed: seed)
    _mask = capacity - 1
    _buckets = Self._allocate(capacity)
  }

  deinit {
    _buckets.deinitialize(count: _mask + 1)
    lookup_table_free(_buckets)
  }

  /// Cache-line-aligned buckets; 2 MiB or more on transparent huge pages (see
  /// `lookup_table_allocate`): at a million SAs a random probe would otherwise miss the TLB too.
  private static func _allocate(_ capacity: Int) -> UnsafeMutablePointer<_InboundBucket> {
    guard let raw = lookup_table_allocate(capacity * MemoryLayout<_InboundBucket>.stride) else {
      fatalError("SPIHashTable: out of memory allocating \(capacity) buckets")
    }
    let buckets = raw.bindMemory(to: _InboundBucket.self, capacity: capacity)
    buckets.initialize(repeating: .empty, count: capacity)
    return buckets
  }

  /// A copy with the same seed and contents.
  func copy() -> _InboundTable {
    let other = _InboundTable(seed: _seed, capacity: _mask + 1)
    other._buckets.update(from: _buckets, count: _mask + 1)
    return other
  }

  @inlinable var capacity: Int { _mask + 1 }

  // MARK: Lookup

  /// The id of the newest SA with `key` whose mark accepts `mark`, or 0.
  ///
  /// The common cases — the key in its home bucket or the next one, or an empty bucket that
  /// proves it absent — are decided without a branch on the buckets' contents: a branch that
  /// depends on a cache miss and mispredicts (the key one bucket further than usual) would
  /// throw away the loads of the lookups after it and serialise their misses. Only the rare
  /// rest (longer runs, SAs sharing a key) takes the loop.
  @inlinable @inline(__always)
  func find(_ key: _InboundKey, hash: UInt64, mark: UInt32) -> UInt32 {
    let home = Int(truncatingIfNeeded: hash) & _mask
    let first = UnsafePointer(_buckets + home)
    let second = UnsafePointer(_buckets + ((home &+ 1) & _mask))
    let inFirst = key.difference(from: first) == 0
    let inSecond = key.difference(from: second) == 0
    let firstEmpty = first.pointee.sequence == 0
    let secondEmpty = second.pointee.sequence == 0
    // Select without branching (the compiler turns these into conditional moves).
    let hit = inFirst ? first : second
    let found = inFirst || inSecond
    let decided = found || firstEmpty || secondEmpty
    let shared = hit.pointee.flags & _InboundBucket.sharedKey != 0
    if _fastPath(decided && !(found && shared)) {
      let accepted = found && mark & hit.pointee.markMask == hit.pointee.markValue
      return accepted ? hit.pointee.id : 0
    }
    return _findInRun(key, home: home, mark: mark)
  }

  /// The general probe: every bucket of the run, newest matching SA.
  @inlinable
  func _findInRun(_ key: _InboundKey, home: Int, mark: UInt32) -> UInt32 {
    var i = home
    var bestSequence: UInt64 = 0
    var bestID: UInt32 = 0
    while true {
      let bucket = UnsafePointer(_buckets + i)
      if bucket.pointee.sequence == 0 { return bestID }
      if key.isKey(of: bucket) {
        let markMatches = mark & bucket.pointee.markMask == bucket.pointee.markValue
        if bucket.pointee.flags & _InboundBucket.sharedKey == 0 {
          return markMatches ? bucket.pointee.id : 0
        }
        if markMatches && bucket.pointee.sequence > bestSequence {
          bestSequence = bucket.pointee.sequence
          bestID = bucket.pointee.id
        }
      }
      i = (i &+ 1) & _mask
    }
  }

  /// Asks the CPU for the home bucket of `hash`.
  @inlinable @inline(__always)
  func prefetch(hash: UInt64) {
    lookup_prefetch(_buckets + (Int(truncatingIfNeeded: hash) & _mask))
  }

  /// Asks the CPU for the home bucket of `hash` and the one after it: the two `find` reads.
  @inlinable @inline(__always)
  func prefetchPair(hash: UInt64) {
    let home = Int(truncatingIfNeeded: hash) & _mask
    lookup_prefetch(_buckets + home)
    lookup_prefetch(_buckets + ((home &+ 1) & _mask))
  }

  // MARK: Updates

  /// Calls `body` with every occupied bucket of the probe run from `hash`'s home.
  func forEachInRun(hash: UInt64, _ body: (UnsafeMutablePointer<_InboundBucket>) -> Void) {
    var i = Int(truncatingIfNeeded: hash) & _mask
    while _buckets[i].sequence != 0 {
      body(_buckets + i)
      i = (i &+ 1) & _mask
    }
  }

  /// Adds a bucket (the caller has checked for conflicts and made room: at most half full
  /// afterwards). Marks every bucket with the same key as shared when there are now two or more.
  func insert(_ bucket: _InboundBucket) {
    let key = bucket.key
    let hash = key.hash(_hashing)
    var stored = bucket
    var sameKey = 0
    forEachInRun(hash: hash) { other in
      if key.isKey(of: other) {
        other.pointee.flags |= _InboundBucket.sharedKey
        sameKey += 1
      }
    }
    stored.flags = sameKey > 0 ? _InboundBucket.sharedKey : 0
    _place(stored, hash: hash)
  }

  /// Removes the bucket holding SA `id` under `key`. Returns false when there is none.
  @discardableResult
  func remove(id: UInt32, key: _InboundKey) -> Bool {
    let hash = key.hash(_hashing)
    var i = Int(truncatingIfNeeded: hash) & _mask
    while true {
      if _buckets[i].sequence == 0 { return false }
      if _buckets[i].id == id && key.isKey(of: _buckets + i) { break }
      i = (i &+ 1) & _mask
    }
    // Backward shift: pull later buckets of the run into the hole when their home allows.
    var hole = i
    var j = (i &+ 1) & _mask
    while _buckets[j].sequence != 0 {
      let home = Int(truncatingIfNeeded: _buckets[j].key.hash(_hashing)) & _mask
      if (j &- home) & _mask >= (j &- hole) & _mask {
        _buckets[hole] = _buckets[j]
        hole = j
      }
      j = (j &+ 1) & _mask
    }
    _buckets[hole] = .empty
    // The flag stays only while two or more buckets share the key.
    var remaining = 0
    var last: UnsafeMutablePointer<_InboundBucket>?
    forEachInRun(hash: hash) { other in
      if key.isKey(of: other) {
        remaining += 1
        last = other
      }
    }
    if remaining == 1, let last { last.pointee.flags &= ~_InboundBucket.sharedKey }
    return true
  }

  private func _place(_ bucket: _InboundBucket, hash: UInt64) {
    var i = Int(truncatingIfNeeded: hash) & _mask
    while _buckets[i].sequence != 0 { i = (i &+ 1) & _mask }
    _buckets[i] = bucket
  }

  /// A table of twice the capacity holding the same buckets.
  func grown() -> _InboundTable {
    let other = _InboundTable(seed: _seed, capacity: capacity * 2)
    for i in 0..<capacity where _buckets[i].sequence != 0 {
      other._place(_buckets[i], hash: _buckets[i].key.hash(_hashing))
    }
    return other
  }

  // MARK: Invariants

  /// Traps unless: counts agree with the buckets; every bucket is reachable from its home
  /// without crossing an empty bucket; the shared flag is set exactly on keys held twice.
  func checkInvariants(count: Int, formCounts: _FormCounts) {
    var occupied = 0
    var forms = [0, 0, 0]
    var keys: [_InboundKey: Int] = [:]
    for i in 0...(_mask) where _buckets[i].sequence != 0 {
      occupied += 1
      forms[Int(_buckets[i].form)] += 1
      keys[_buckets[i].key, default: 0] += 1
      var j = Int(truncatingIfNeeded: _buckets[i].key.hash(_hashing)) & _mask
      while j != i {
        precondition(_buckets[j].sequence != 0, "SPIHashTable: bucket \(i) unreachable from its home")
        j = (j &+ 1) & _mask
      }
    }
    precondition(occupied == count && occupied * 2 <= capacity, "SPIHashTable: count or load wrong")
    precondition(forms == [formCounts.spi, formCounts.destination, formCounts.source], "SPIHashTable: form counts wrong")
    for i in 0...(_mask) where _buckets[i].sequence != 0 {
      let shared = _buckets[i].flags & _InboundBucket.sharedKey != 0
      precondition(shared == (keys[_buckets[i].key]! > 1), "SPIHashTable: shared-key flag wrong")
    }
  }
}

/// How many SAs each inbound form holds: lookups skip forms that hold none.
@usableFromInline
internal struct _FormCounts: Sendable {
  @usableFromInline var spi = 0
  @usableFromInline var destination = 0
  @usableFromInline var source = 0

  @inlinable init() {}

  @inlinable
  subscript(form: UInt8) -> Int {
    get {
      switch form {
      case 0: spi
      case 1: destination
      default: source
      }
    }
    set {
      switch form {
      case 0: spi = newValue
      case 1: destination = newValue
      default: source = newValue
      }
    }
  }
}
