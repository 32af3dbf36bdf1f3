import CLookupSupport

/// The open-addressing table of `SPIHashTable`: 64-byte buckets on 64-byte boundaries,
/// linear probing, at most half full, backward-shift deletion (no tombstones), doubling.
///
/// All SAs with one key sit in the probe run of that key's home bucket (linear probing
/// keeps a run contiguous up to the first empty bucket), so a lookup that finds its key in
/// a bucket without the `sharedKey` flag can stop there.
///
/// A class only so that it can own its aligned memory; `SPIHashTable` copies it before
/// writing when it is shared (copy on write).
@usableFromInline
internal final class _InboundTable: @unchecked Sendable {
  @usableFromInline internal var _buckets: UnsafeMutablePointer<_InboundBucket>
  @usableFromInline internal var _mask: Int
  @usableFromInline internal let _seed: UInt64
  @usableFromInline internal var _count = 0
  /// SAs registered under each form (0, 1, 2): a lookup skips forms that hold none.
  @usableFromInline internal var _formCounts: (Int, Int, Int) = (0, 0, 0)

  @usableFromInline static let minimumCapacity = 16

  init(seed: UInt64, capacity: Int = _InboundTable.minimumCapacity) {
    precondition(capacity.nonzeroBitCount == 1)
    _seed = seed
    _mask = capacity - 1
    _buckets = Self._allocate(capacity)
  }

  deinit {
    _buckets.deinitialize(count: _mask + 1)
    UnsafeMutableRawPointer(_buckets).deallocate()
  }

  private static func _allocate(_ capacity: Int) -> UnsafeMutablePointer<_InboundBucket> {
    let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<_InboundBucket>.stride, alignment: 64)
    let buckets = raw.bindMemory(to: _InboundBucket.self, capacity: capacity)
    buckets.initialize(repeating: .empty, count: capacity)
    return buckets
  }

  /// A copy with the same seed and contents.
  func copy() -> _InboundTable {
    let other = _InboundTable(seed: _seed, capacity: _mask + 1)
    other._buckets.update(from: _buckets, count: _mask + 1)
    other._count = _count
    other._formCounts = _formCounts
    return other
  }

  @inlinable var capacity: Int { _mask + 1 }

  @inlinable
  func formCount(_ form: UInt8) -> Int {
    switch form {
    case 0: _formCounts.0
    case 1: _formCounts.1
    default: _formCounts.2
    }
  }

  // MARK: Lookup

  /// The id of the newest SA with `key` whose mark accepts `mark`, or 0.
  @inlinable @inline(__always)
  func find(_ key: _InboundKey, hash: UInt64, mark: UInt32) -> UInt32 {
    var i = Int(truncatingIfNeeded: hash) & _mask
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

  // MARK: Updates

  /// Calls `body` with every occupied bucket of the probe run from `hash`'s home.
  func forEachInRun(hash: UInt64, _ body: (UnsafeMutablePointer<_InboundBucket>) -> Void) {
    var i = Int(truncatingIfNeeded: hash) & _mask
    while _buckets[i].sequence != 0 {
      body(_buckets + i)
      i = (i &+ 1) & _mask
    }
  }

  /// Adds a bucket (the caller has checked for conflicts). Marks every bucket with the same
  /// key as shared when there are now two or more.
  func insert(_ bucket: _InboundBucket) {
    if (_count + 1) * 2 > capacity { _grow() }
    let key = bucket.key
    let hash = key.hash(seed: _seed)
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
    _count += 1
    _adjustFormCount(stored.form, by: 1)
  }

  /// Removes the bucket holding SA `id` under `key`. Returns false when there is none.
  @discardableResult
  func remove(id: UInt32, key: _InboundKey) -> Bool {
    let hash = key.hash(seed: _seed)
    var i = Int(truncatingIfNeeded: hash) & _mask
    while true {
      if _buckets[i].sequence == 0 { return false }
      if _buckets[i].id == id && key.isKey(of: _buckets + i) { break }
      i = (i &+ 1) & _mask
    }
    let form = _buckets[i].form
    // Backward shift: pull later buckets of the run into the hole when their home allows.
    var hole = i
    var j = (i &+ 1) & _mask
    while _buckets[j].sequence != 0 {
      let home = Int(truncatingIfNeeded: _buckets[j].key.hash(seed: _seed)) & _mask
      if (j &- home) & _mask >= (j &- hole) & _mask {
        _buckets[hole] = _buckets[j]
        hole = j
      }
      j = (j &+ 1) & _mask
    }
    _buckets[hole] = .empty
    _count -= 1
    _adjustFormCount(form, by: -1)
    // The flag stays only while two or more buckets share the key.
    var remaining: [UnsafeMutablePointer<_InboundBucket>] = []
    forEachInRun(hash: hash) { other in if key.isKey(of: other) { remaining.append(other) } }
    if remaining.count == 1 { remaining[0].pointee.flags &= ~_InboundBucket.sharedKey }
    return true
  }

  private func _place(_ bucket: _InboundBucket, hash: UInt64) {
    var i = Int(truncatingIfNeeded: hash) & _mask
    while _buckets[i].sequence != 0 { i = (i &+ 1) & _mask }
    _buckets[i] = bucket
  }

  private func _adjustFormCount(_ form: UInt8, by delta: Int) {
    switch form {
    case 0: _formCounts.0 += delta
    case 1: _formCounts.1 += delta
    default: _formCounts.2 += delta
    }
  }

  private func _grow() {
    let oldBuckets = _buckets
    let oldCapacity = capacity
    _buckets = Self._allocate(oldCapacity * 2)
    _mask = oldCapacity * 2 - 1
    for i in 0..<oldCapacity where oldBuckets[i].sequence != 0 {
      _place(oldBuckets[i], hash: oldBuckets[i].key.hash(seed: _seed))
    }
    oldBuckets.deinitialize(count: oldCapacity)
    UnsafeMutableRawPointer(oldBuckets).deallocate()
  }

  // MARK: Invariants

  /// Traps unless: counts agree with the buckets; every bucket is reachable from its home
  /// without crossing an empty bucket; the shared flag is set exactly on keys held twice.
  func checkInvariants() {
    var occupied = 0
    var forms = [0, 0, 0]
    var keys: [_InboundKey: Int] = [:]
    for i in 0...(_mask) where _buckets[i].sequence != 0 {
      occupied += 1
      forms[Int(_buckets[i].form)] += 1
      keys[_buckets[i].key, default: 0] += 1
      var j = Int(truncatingIfNeeded: _buckets[i].key.hash(seed: _seed)) & _mask
      while j != i {
        precondition(_buckets[j].sequence != 0, "SPIHashTable: bucket \(i) unreachable from its home")
        j = (j &+ 1) & _mask
      }
    }
    precondition(occupied == _count && occupied * 2 <= capacity, "SPIHashTable: count or load wrong")
    precondition(forms == [_formCounts.0, _formCounts.1, _formCounts.2], "SPIHashTable: form counts wrong")
    for i in 0...(_mask) where _buckets[i].sequence != 0 {
      let shared = _buckets[i].flags & _InboundBucket.sharedKey != 0
      precondition(shared == (keys[_buckets[i].key]! > 1), "SPIHashTable: shared-key flag wrong")
    }
  }
}
