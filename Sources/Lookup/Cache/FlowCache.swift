import CLookupSupport

// FlowCache — an exact-match cache of answers in front of any lookup structure.
//
// Idea
//   The flow cache Linux had until 4.14 and VPP still has: hash the whole key (every field —
//   addresses, ports, protocol, DSCP, mark, if_id, ifindex, namespace, direction, type), find
//   it in a small table, and return the answer stored there; on a miss, ask the structure
//   beneath and remember its answer — including "no match", so a hit returns exactly what
//   the base would. The table is `capacity` entries in sets of `associativity` ways (1 =
//   direct-mapped). Replacement inside a set:
//   - `.directMapped` — one way, a new flow overwrites (VPP's SPD flow cache);
//   - `.lru` — the least recently used way goes;
//   - `.clock` — second chance: a reference bit per way, a hand per set;
//   - `.idleTimeout` — the netfilter flowtable: an entry lives until it has been idle for
//     `idleTimeout` ticks of the caller's logical clock (`advanceClock`); a flow whose set
//     is full of live entries is not cached (counted as `rejected`).
//   Invalidation, when the structure changes through the cache:
//   - `.generation` — one counter bumped by every change; an entry stamped with an older
//     generation is recomputed on its next hit (a "stale hit"): the old kernel's
//     `flow_cache_genid` and VPP's epoch. O(1) per change, but every entry pays after it.
//   - `.targeted` — a change invalidates only the entries whose answer it could alter: for a
//     policy, the entries whose flow it matches (it may now win) or whose answer it is (its
//     removal or replacement changes it) — `TargetedInvalidation`; all other entries keep
//     their answers. To find them without testing every cached key, each block of four ways
//     (one line of records) has a 64-bit summary, a Bloom filter of its entries: one bit per
//     entry for its answer (a hash of the policy index or SA id) and, in two 16-bit fields,
//     one bit each for what a change must share with its key to match it (a flow's source
//     /16 and destination /16; an SA key's SPI). A change asks for its answer bit, or for
//     both of its key bits (every bit of a field whose prefix is shorter than /16), and only
//     the blocks whose summary has them are examined (`TargetedInvalidation.summaryQuery`;
//     a property test holds every structure's bits to its `change`/`removal`). A miss does
//     not touch the summaries — it marks its block in a bitmap of one bit per block (a few
//     KiB, in L1), and the next change first recomputes the marked blocks' summaries from
//     their entries; an examined block's summary is recomputed too, so the bits of evicted
//     and dropped entries do not linger. Measured (acl1_10k, Zipf trace of 20,000 flows,
//     churn 1000 changes per 10⁶ lookups): a change examines ~500–1,500 cached entries
//     instead of all of them (4,000–19,000 here), and ns/lookup in a 65,536-entry cache fell
//     from ~250–290 to ~50 (~21 without churn). Addresses concentrated in a few /16s (as ClassBench's are)
//     share bits, so many blocks still pass the filter; crafted flows can at worst make every
//     block pass, which is the cost of the full scan this replaced, never a wrong answer.
//   Changing the base behind the cache's back is not possible: the base is only reachable
//   through the cache's `insert`/`remove`/`update`/`modifyBase`, and each of them
//   invalidates before returning, so no stale answer is ever visible.
//
// Layout
//   Line-aligned arrays. Per way a small record — 32-bit tag (hash bits, 0 = empty), 16-bit
//   generation stamp, 16-bit use (LRU's use stamp, CLOCK's reference bit), the answer: 16
//   bytes for an SPD answer, so a 4-way set's records are one 64-byte line, and a hit records
//   its use in the line it has just read. Per way the key, packed as `CacheKeyWords` so that a hit hashes and
//   compares plain words with no per-field work: a 32-byte head (two per line) that is the
//   whole key when it fits — an IPv4 flow, with every other field — and a 32-byte tail in a
//   second array, written and read only for keys that need it (IPv6 addresses). An IPv4 hit
//   thus hashes two products and compares four words, and a 4-way set's keys are two lines.
//   Idle timeout keeps a further array of 32-bit logical times (written on a hit, read to
//   test expiry). Targeted invalidation keeps a 64-bit summary per four ways and a bit per
//   four ways marking the summaries to recompute (see above). LRU is *approximate*: its stamps are the low 16 bits of one per-cache use
//   counter (a tick per hit or insert), and a way's age is read modulo 2^16. In a cache of
//   S sets a set sees about one tick in S, so once a way has gone unused for more than
//   ~65,536 / S of its set's uses its stamp has wrapped and its apparent age is arbitrary:
//   the victim is the true LRU way among recently used ones, and close to arbitrary among
//   ways idle longer (a 65,536-entry 4-way cache: after ~4 uses of the set). Measured on the
//   Zipf traces here, hit rates within 0.2 points of the exact 32-bit stamps before (16,384
//   entries, 20,000 flows: 93.2–93.3 % vs 93.4–93.5 %; 65,536 entries, 30,000 flows:
//   91.52–91.58 % vs 91.53–91.58 % in runs alternating the two builds). Exact per-set recency ranks in the
//   record were tried: exact, but ~6 ns slower per hit beyond L2 (four rank updates in the
//   line); a packed per-set rank byte with table-driven updates is the way to make them cheap. In a separate 32-bit array the
//   stamp cost a hit and a miss a third line: with it in the record, 4-way LRU beyond L2
//   (65,536 entries, ~12,700 flows) went from 13.7–13.9 to 13.3–13.5 ns per hit and from
//   25.5–26.4 to 22.5–24.5 ns of miss overhead; L2-sized, no change (8.7–8.9 ns: there the
//   cost over direct mapping is the 4-way select before the key's line can be compared,
//   and recording the use at all — ~0.7 ns, measured by leaving it out). The hash is keyed by 8 random words per cache
//   (`CacheHashKeys`): independent 64×64→128-bit products (two for a head, two more for a
//   tail), summed, so it costs about one multiply's latency and crafted flows cannot aim at
//   one set without the seed. A single lookup prefetches the set's head lines while its
//   records arrive (the way is known only from the tags), so the memory accesses of a hit
//   overlap.
//
// Complexity
//   hit: one hash of the key, the set's line of records (the way is chosen without
//   branches), the key's head line (and tail line); miss: the same plus the base's lookup and
//   an insert into the set; change: O(1) (generation) or O(capacity) (targeted: a pass over
//   the summaries, 8 bytes per four ways, plus the blocks they admit), plus the base's own
//   cost. Batch lookups hash a group of 16 keys and prefetch their lines before
//   using any, and hand the group's certain misses to the base in one batch lookup (so the
//   base can overlap their misses too) before inserting them in order.
//
// Memory
//   Fixed at creation: `capacity` × (record + key, + 4 bytes of logical time with idle
//   timeout, + ~2 bytes of summary with targeted invalidation), never grown — a flood of
//   distinct flows only evicts.
//
// Good at / bad at
//   Traffic with locality (a few elephant flows, bursts): 1 probe instead of a full
//   classification. Bad when the working set exceeds the cache (every packet misses and pays
//   the insert on top of the lookup), and — in generation mode — under policy churn.
//
// Thread safety
//   A `FlowCache` is a class whose lookups write (the entry, counters): one thread at a
//   time. `SharedFlowCache` puts one behind a lock for many threads; `PerThreadFlowCaches`
//   gives each reader thread its own.

/// How a set chooses the way a new entry takes. See the file comment.
public enum CacheReplacement: String, Hashable, Sendable, CaseIterable {
  case directMapped = "direct"
  case lru
  case clock
  case idleTimeout = "idle"
}

/// How the cache forgets answers a change may have altered. See the file comment.
public enum CacheInvalidation: String, Hashable, Sendable, CaseIterable {
  case generation
  case targeted
}

/// A flow cache's shape and policies.
public struct FlowCacheConfiguration: Hashable, Sendable {
  /// Entries in all; a power of two.
  public var capacity: Int
  /// Ways per set (1 for `.directMapped`); a power of two up to 8 dividing `capacity`.
  public var associativity: Int
  public var replacement: CacheReplacement
  public var invalidation: CacheInvalidation
  /// For `.idleTimeout`: ticks an entry may stay unused.
  public var idleTimeout: UInt32

  /// - Throws: `LookupError.unsupported` for a capacity or associativity that is not a power
  ///   of two, more than 8 ways, or direct mapping with more than one way.
  public init(capacity: Int = 1 << 12, associativity: Int = 4, replacement: CacheReplacement = .lru,
              invalidation: CacheInvalidation = .targeted, idleTimeout: UInt32 = 1_000) throws(LookupError) {
    guard capacity > 0, capacity & (capacity - 1) == 0, capacity <= 1 << 28 else {
      throw .unsupported("cache capacity \(capacity): a power of two up to 2^28 is needed")
    }
    let ways = replacement == .directMapped ? 1 : associativity
    guard ways > 0, ways & (ways - 1) == 0, ways <= 8, ways <= capacity else {
      throw .unsupported("cache associativity \(associativity): 1, 2, 4 or 8 ways (at most the capacity) are needed")
    }
    self.capacity = capacity
    self.associativity = ways
    self.replacement = replacement
    self.invalidation = invalidation
    self.idleTimeout = idleTimeout
  }
}

/// The counters every flow cache keeps.
public struct FlowCacheCounters: Hashable, Sendable {
  public var hits = 0
  public var misses = 0
  public var inserts = 0
  public var evictions = 0
  public var invalidations = 0
  public var staleHits = 0
  public var expirations = 0
  public var rejected = 0
  /// Occupied ways a targeted invalidation examined: those of the four-way blocks its
  /// summary query could not skip (see `FlowCache`) — every occupied way when the whole cache
  /// is forgotten (`invalidateAll`, `modifyBase`).
  public var waysExamined = 0

  public init() {}

  public var lookups: Int { hits + misses }
  public var hitRate: Double { lookups == 0 ? 0 : Double(hits) / Double(lookups) }

  public static func + (a: FlowCacheCounters, b: FlowCacheCounters) -> FlowCacheCounters {
    var sum = a
    sum.hits += b.hits
    sum.misses += b.misses
    sum.inserts += b.inserts
    sum.evictions += b.evictions
    sum.invalidations += b.invalidations
    sum.staleHits += b.staleHits
    sum.expirations += b.expirations
    sum.rejected += b.rejected
    sum.waysExamined += b.waysExamined
    return sum
  }
}

/// An exact-match cache of a structure's answers. See the file comment.
public final class FlowCache<Base: TargetedInvalidation>: LookupStructure where Base.Key: CacheKey {
  public typealias Key = Base.Key
  public typealias Result = Base.Result
  public typealias Entry = Base.Entry
  public typealias EntryID = Base.EntryID

  /// The small per-way part of an entry, kept apart from the keys so that a set's tags,
  /// stamps, uses and answers share one cache line (4 ways of an 8-byte answer: 64 bytes),
  /// the line a hit reads anyway: recording the use (LRU, CLOCK) writes no other line.
  @usableFromInline
  struct _Meta {
    /// The low 32 bits of the key's hash with bit 0 set; 0 = empty way.
    @usableFromInline var tag: UInt32
    /// The generation the answer was computed in (see `_bumpGeneration`).
    @usableFromInline var stamp: UInt16
    /// The last use: the low 16 bits of the use counter (LRU) or the reference bit (CLOCK).
    @usableFromInline var used: UInt16
    @usableFromInline var answer: Result

    @inlinable
    init(tag: UInt32, stamp: UInt16, used: UInt16, answer: Result) {
      self.tag = tag
      self.stamp = stamp
      self.used = used
      self.answer = answer
    }
  }

  public let configuration: FlowCacheConfiguration
  /// The structure beneath. Change it only through the cache.
  public var base: Base { _base.pointee }
  /// Held outside the class's stored properties (no dynamic exclusivity checks) and looked
  /// up through `_lookupInBase`'s inout parameter: read as a value, the base would be copied
  /// — its arrays retained and released — around every call into it.
  @usableFromInline let _base: UnsafeMutablePointer<Base>

  @inlinable @inline(__always)
  static func _lookupInBase(_ base: inout Base, _ key: Key) -> Result { base.lookup(key) }
  /// What the cache did so far.
  public var counters: FlowCacheCounters { _state.pointee.counters }

  /// The mutable scalars of the cache, outside the class's stored properties so the hot path
  /// pays no dynamic exclusivity check (a class's stored `var`s get one on every access).
  @usableFromInline
  struct _State {
    @usableFromInline var counters = FlowCacheCounters()
    @usableFromInline var generation: UInt16 = 1
    @usableFromInline var useCounter: UInt16 = 0
    /// Ways holding an entry (so that a change to an empty cache scans nothing).
    @usableFromInline var live = 0
    @usableFromInline var now: UInt32 = 0

    @inlinable init() {}
  }
  @usableFromInline let _state: UnsafeMutablePointer<_State>

  /// Tags, generation stamps and answers, one per way, a set's ways adjacent (line-aligned).
  @usableFromInline let _meta: UnsafeMutablePointer<_Meta>
  /// The keys' heads, one per way (line-aligned: two per line); meaningful exactly where the
  /// way's tag is not 0.
  @usableFromInline let _heads: UnsafeMutablePointer<CacheKeyHalf>
  /// The keys' tails, one per way; meaningful where the head is and says it has a tail.
  @usableFromInline let _tails: UnsafeMutablePointer<CacheKeyHalf>
  /// Last use per way in logical time, for `.idleTimeout` only (LRU and CLOCK keep theirs in
  /// `_Meta.used`); one element otherwise.
  @usableFromInline let _used: UnsafeMutablePointer<UInt32>
  /// CLOCK hands, one per set.
  @usableFromInline let _hands: UnsafeMutablePointer<UInt8>
  /// Per block of four ways (one line of records), with targeted invalidation, a 64-bit
  /// Bloom filter over its entries (`TargetedInvalidation.summaryBits`): a superset of its
  /// live ways' bits — unless the block is marked in `_dirty`. Way `i` is in block `i >> 2`.
  @usableFromInline let _summaries: UnsafeMutablePointer<UInt64>
  /// One bit per block: an entry was stored in it since its summary was last computed.
  @usableFromInline let _dirty: UnsafeMutablePointer<UInt64>
  @usableFromInline let _setMask: Int
  @usableFromInline let _ways: Int
  @usableFromInline let _hashKeys: CacheHashKeys
  /// The caller's logical time (idle timeout).
  public var now: UInt32 { _state.pointee.now }

  public init(base: Base, configuration: FlowCacheConfiguration, seed: UInt64 = SeededHash.randomSeed()) {
    _base = .allocate(capacity: 1)
    _base.initialize(to: base)
    self.configuration = configuration
    let capacity = configuration.capacity
    _ways = configuration.associativity
    _setMask = capacity / configuration.associativity - 1
    _hashKeys = CacheHashKeys(seed: seed)
    // Answers are plain data (every result type of the library is): empty ways are zero
    // bytes, and an empty way's answer is never read.
    precondition(_isPOD(Result.self), "FlowCache: the base's results must be plain data")
    // The batch lookup copies a group's missing keys into a stack temporary it never
    // deinitialises.
    precondition(_isPOD(Key.self), "FlowCache: the base's keys must be plain data")
    assert(_caseCountsAreCurrent(), "CacheKey: a case count constant is out of date")
    _meta = Self._allocate(_Meta.self, capacity)
    UnsafeMutableRawPointer(_meta).initializeMemory(as: UInt8.self, repeating: 0,
                                                     count: capacity * MemoryLayout<_Meta>.stride)
    _heads = Self._allocate(CacheKeyHalf.self, capacity)
    _tails = Self._allocate(CacheKeyHalf.self, capacity)
    _used = Self._allocate(UInt32.self, Self._timedWays(configuration))
    _used.initialize(repeating: 0, count: Self._timedWays(configuration))
    _hands = .allocate(capacity: _setMask + 1)
    _hands.initialize(repeating: 0, count: _setMask + 1)
    _summaries = Self._allocate(UInt64.self, Self._summaryBlocks(configuration))
    _summaries.initialize(repeating: 0, count: Self._summaryBlocks(configuration))
    _dirty = .allocate(capacity: Self._dirtyWords(configuration))
    _dirty.initialize(repeating: 0, count: Self._dirtyWords(configuration))
    _state = .allocate(capacity: 1)
    _state.initialize(to: _State())
  }

  /// The number of four-way blocks of a cache of `capacity` ways.
  @inlinable static func _blocks(_ capacity: Int) -> Int { (capacity + 3) / 4 }
  /// The length of `_summaries`: a summary per block with targeted invalidation (the only
  /// mode that reads them), else one element.
  @inlinable static func _summaryBlocks(_ configuration: FlowCacheConfiguration) -> Int {
    configuration.invalidation == .targeted ? _blocks(configuration.capacity) : 1
  }
  /// The words of `_dirty`: a bit per summary.
  @inlinable static func _dirtyWords(_ configuration: FlowCacheConfiguration) -> Int {
    (_summaryBlocks(configuration) + 63) / 64
  }

  /// The length of `_used`: a logical time per way with idle timeout, else one element.
  static func _timedWays(_ configuration: FlowCacheConfiguration) -> Int {
    configuration.replacement == .idleTimeout ? configuration.capacity : 1
  }

  /// Cache-line-aligned storage (huge pages from 2 MiB, see `lookup_table_allocate`).
  private static func _allocate<T>(_: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
    guard let raw = lookup_table_allocate(max(1, count * MemoryLayout<T>.stride)) else {
      fatalError("FlowCache: out of memory allocating \(count) entries")
    }
    return raw.bindMemory(to: T.self, capacity: count)
  }

  deinit {
    lookup_table_free(_meta)
    lookup_table_free(_heads)
    lookup_table_free(_tails)
    lookup_table_free(_used)
    _hands.deallocate()
    lookup_table_free(_summaries)
    _dirty.deallocate()
    _state.deinitialize(count: 1)
    _state.deallocate()
    _base.deinitialize(count: 1)
    _base.deallocate()
  }

  // MARK: Lookup

  /// A hit: one keyed hash, the set's line of tags and answers, the key's head (and tail, if
  /// it has one). The way is chosen without branches (a select per way), so the only
  /// data-dependent branches are "found and current" and "has a tail" — predictable when most
  /// lookups hit.
  @inlinable @inline(__always)
  public func lookup(_ key: Key) -> Result {
    let words = key.cacheWords
    let (tag, first) = _place(words)
    // The head lines of the set, fetched while the set's tags arrive (which way holds the
    // key is known only from the tags): the two misses of a hit overlap instead of adding.
    _prefetchKeys(ofSetAt: first, tails: words.hasTail)
    let found = _way(taggedWith: tag, inSetAt: first)
    if _fastPath(found >= 0), _isCurrentEntry(found, of: words) {
      _state.pointee.counters.hits &+= 1
      _touch(found)
      return _meta[found].answer
    }
    // The slow path gets the words, not the key: passing the key out of line would make
    // every lookup copy it to the stack first and read its fields back from the copy (so
    // would taking its address for the slow path: measured, +75 instructions per lookup).
    return _lookupSlow(words, tag: tag, first: first)
  }

  /// Where `words` belong: the tag (the hash's low 32 bits with bit 0 set, so never the
  /// empty 0) and the first way of the set its high 32 bits name.
  @inlinable @inline(__always)
  func _place(_ words: CacheKeyWords) -> (tag: UInt32, first: Int) {
    let hash = words.hash(_hashKeys)
    return (UInt32(truncatingIfNeeded: hash) | 1, (Int(truncatingIfNeeded: hash &>> 32) & _setMask) &* _ways)
  }

  /// Prefetches the key heads of the set starting at `first` (two ways per line) and, for a
  /// key with a tail, the tails.
  @inlinable @inline(__always)
  func _prefetchKeys(ofSetAt first: Int, tails: Bool) {
    if _ways == 1 {
      lookup_prefetch(_heads + first)
      if tails { lookup_prefetch(_tails + first) }
      return
    }
    if _ways == 4 {  // the default shape: two lines, no loop
      lookup_prefetch(_heads + first)
      lookup_prefetch(_heads + (first &+ 2))
      if tails {
        lookup_prefetch(_tails + first)
        lookup_prefetch(_tails + (first &+ 2))
      }
      return
    }
    for way in stride(from: 0, to: _ways, by: 2) {
      lookup_prefetch(_heads + (first &+ way))
      if tails { lookup_prefetch(_tails + (first &+ way)) }
    }
  }

  /// The last way of the set starting at `first` whose tag is `tag`, or -1; chosen with a
  /// select per way, no branch.
  @inlinable @inline(__always)
  func _way(taggedWith tag: UInt32, inSetAt first: Int) -> Int {
    let set = _meta + first
    if _ways == 1 { return set[0].tag == tag ? first : -1 }
    var found = -1
    if _ways == 4 {  // the default shape: four selects at fixed offsets, no loop
      found = set[0].tag == tag ? 0 : found
      found = set[1].tag == tag ? 1 : found
      found = set[2].tag == tag ? 2 : found
      found = set[3].tag == tag ? 3 : found
    } else {
      for way in 0..<_ways {
        found = set[way].tag == tag ? way : found
      }
    }
    return found < 0 ? -1 : first &+ found
  }

  /// Whether occupied way `i` holds `key` with an answer a hit may return: computed in the
  /// current generation and, with idle timeout, not expired.
  @inlinable @inline(__always)
  func _isCurrentEntry(_ i: Int, of words: CacheKeyWords) -> Bool {
    _holds(i, words) && _meta[i].stamp == _state.pointee.generation
      && (configuration.replacement != .idleTimeout || _state.pointee.now &- _used[i] <= configuration.idleTimeout)
  }

  /// Whether occupied way `i` holds the key `words`.
  @inlinable @inline(__always)
  func _holds(_ i: Int, _ words: CacheKeyWords) -> Bool {
    CacheKeyHalf.equal(_heads[i], words.head) && (!words.hasTail || CacheKeyHalf.equal(_tails[i], words.tail))
  }

  /// The key way `i` holds, as words (its tail only if it has one).
  @inlinable
  func _words(_ i: Int) -> CacheKeyWords {
    let head = _heads[i]
    return CacheKeyWords(head: head, tail: head.w3 & CacheKeyWords.tailFlag != 0 ? _tails[i] : head)
  }

  /// Keys per group of the batch lookup: 16, or fewer for keys wider than 64 bytes, so that
  /// a group's missing keys fit a 1 KiB stack temporary (a larger one may come from the heap).
  @inlinable static var _group: Int { Swift.max(1, Swift.min(16, 1024 / MemoryLayout<Key>.stride)) }

  /// Bursts in groups of 16 (`_group`): hash every key and prefetch its set's line of records
  /// and its set's key lines (which way holds it is not known yet; for a miss, these are the
  /// lines its insert will write); finish the group's leading clean hits in order, as the
  /// single lookup does; then, from the first other key on, pick each key's way — a key no
  /// way is tagged for is a certain miss, and its answer is asked of the base right after
  /// this pass, for all such distinct keys of the group in one batch lookup (a key repeated
  /// in the group is asked once, as single lookups would: its first miss inserts it and the
  /// others hit) — and finish each lookup in order (a clean hit, a miss remembered with its
  /// precomputed answer, or the single lookup's slow path). A group of hits thus costs one
  /// pass more than single lookups, not two (L2-sized, 4,096 entries: 10.0 → ~7 ns per
  /// direct-mapped hit). The misses
  /// of a group overlap instead of following one another — the cache's lines and, through
  /// the base's batch lookup, the base's. Answers and counters are those of single lookups
  /// in order: a miss that evicts a way a later key of the group picked is caught by
  /// re-checking the tag, and a repeated key is found in its set by re-checking it before
  /// the insert. A precomputed answer is the one a single lookup would have computed at its
  /// point, because the base does not change during a batch and its lookups have no side
  /// effects — true of every structure in the library except a flow cache itself (a cache
  /// over a cache answers the same, but its inner counters and recency see the group's
  /// misses first).
  @inlinable
  public func lookup(_ keys: UnsafeBufferPointer<Key>, into results: UnsafeMutableBufferPointer<Result>) {
    precondition(results.count >= keys.count, "batch result buffer too small")
    let group = Self._group
    guard let base = keys.baseAddress else { return }
    // Stack temporaries of at most 1 KiB each (a larger one may come from the heap).
    withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * group) { scratch in
      withUnsafeTemporaryAllocation(of: Key.self, capacity: group) { missKeys in
        withUnsafeTemporaryAllocation(of: Result.self, capacity: group) { missAnswers in
          var offset = 0
          while offset < keys.count {
            let count = min(group, keys.count - offset)
            // Keys are read in place (through the pointer): copying a 64-byte key out of the
            // buffer first costs eight stores and eight loads per key.
            let inGroup = base + offset
            for j in 0..<count {
              let words = inGroup[j].cacheWords
              let (tag, first) = _place(words)
              scratch[j] = first
              // The tag, and whether the key has a tail (bit 32), for the next pass.
              scratch[group &+ j] = Int(tag) | (words.hasTail ? 1 &<< 32 : 0)
              lookup_prefetch(_meta + first)
              // The set's key lines too, while they are few (at most two head lines; a tail
              // line only with direct mapping or two ways): wider sets and tails are fetched
              // in the next pass for the way found or the miss's insert only, so that a
              // group does not ask for more lines than the CPU can have in flight.
              if _ways <= 4 { _prefetchKeys(ofSetAt: first, tails: words.hasTail && _ways <= 2) }
            }
            // The group's leading clean hits, finished in order as single lookups would
            // (their lines are on their way): with no miss before them, no insert of the
            // group can have changed their sets.
            var hits = 0
            var start = 0
            while start < count {
              let found = _way(taggedWith: UInt32(truncatingIfNeeded: scratch[group &+ start]), inSetAt: scratch[start])
              guard found >= 0, _isCurrentEntry(found, of: inGroup[start].cacheWords) else { break }
              hits &+= 1
              _touch(found)
              results[offset &+ start] = _meta[found].answer
              start &+= 1
            }
            // From the first other key on: per key, its way (or -1) and tag; per certain
            // miss, its entry in `missKeys` (`scratch[2 * group + j]`).
            var misses = 0
            for j in start..<count {
              let first = scratch[j]
              let tag = UInt32(truncatingIfNeeded: scratch[group &+ j])
              let found = _way(taggedWith: tag, inSetAt: first)
              let tails = scratch[group &+ j] & 1 &<< 32 != 0
              let fetched = _ways <= 4 && (!tails || _ways <= 2)  // by the first pass
              if found >= 0 {
                if !fetched {
                  lookup_prefetch(_heads + found)
                  if tails { lookup_prefetch(_tails + found) }
                }
              } else {
                // A key repeated in the group shares its first occurrence's entry.
                var entry = misses
                for k in start..<j where scratch[group &+ k] < 0 && UInt32(truncatingIfNeeded: scratch[group &+ k]) == tag
                  && CacheKeyWords.equal(inGroup[k].cacheWords, inGroup[j].cacheWords) {
                  entry = scratch[2 &* group &+ k]
                  break
                }
                if entry == misses {
                  if !fetched { _prefetchKeys(ofSetAt: first, tails: tails) }
                  (missKeys.baseAddress! + misses).initialize(to: inGroup[j])
                  misses &+= 1
                }
                scratch[2 &* group &+ j] = entry
              }
              scratch[group &+ j] = found &<< 32 | Int(tag)
            }
            if misses > 0 {
              Self._lookupInBase(&_base.pointee, UnsafeBufferPointer(rebasing: missKeys[0..<misses]),
                                 into: UnsafeMutableBufferPointer(rebasing: missAnswers[0..<misses]))
            }
            for j in start..<count {
              let first = scratch[j]
              let found = scratch[group &+ j] &>> 32
              let tag = UInt32(truncatingIfNeeded: scratch[group &+ j])
              if _fastPath(found >= 0) {
                if _meta[found].tag == tag, _isCurrentEntry(found, of: inGroup[j].cacheWords) {
                  hits &+= 1
                  _touch(found)
                  results[offset &+ j] = _meta[found].answer
                } else {
                  results[offset &+ j] = _lookupSlow(inGroup[j].cacheWords, tag: tag, first: first)
                }
              } else {
                let answer = missAnswers[scratch[2 &* group &+ j]]
                results[offset &+ j] = answer
                _rememberMiss(inGroup[j].cacheWords, answer, tag: tag, first: first)
              }
            }
            _state.pointee.counters.hits &+= hits
            offset &+= count
          }
        }
      }
    }
  }

  @inlinable @inline(__always)
  static func _lookupInBase(_ base: inout Base, _ keys: UnsafeBufferPointer<Key>,
                            into results: UnsafeMutableBufferPointer<Result>) {
    base.lookup(keys, into: results)
  }

  /// A batch's key that no way was tagged for when its group was placed, with its answer
  /// from the base: a miss — unless an earlier key of the group inserted the same key (then
  /// a hit, as the single lookups in order would have counted it).
  @inlinable @inline(never)
  func _rememberMiss(_ words: CacheKeyWords, _ answer: Result, tag: UInt32, first: Int) {
    for way in 0..<_ways {
      let i = first &+ way
      if _meta[i].tag == tag && _isCurrentEntry(i, of: words) {
        _state.pointee.counters.hits += 1
        _touch(i)
        return
      }
    }
    _state.pointee.counters.misses += 1
    _remember(words, answer, tag: tag, first: first)
  }

  /// Everything but a clean hit: the key in another way of the set (a tag shared by two
  /// keys), a stale answer (generation mode), an expired entry (idle timeout), or a miss.
  /// Takes the key as its words and rebuilds it for the base only on a miss (inlined, so the
  /// fields go to the base's search in registers).
  @inlinable @inline(never)
  func _lookupSlow(_ words: CacheKeyWords, tag: UInt32, first: Int) -> Result {
    for way in 0..<_ways {
      let i = first &+ way
      // Only ways with this key's tag can hold it: no other way's key line is read.
      guard _meta[i].tag == tag, _holds(i, words) else { continue }
      if configuration.replacement == .idleTimeout && _state.pointee.now &- _used[i] > configuration.idleTimeout {
        _evict(i, expired: true)
        break  // a miss: recomputed and re-inserted below
      }
      if _meta[i].stamp != _state.pointee.generation {
        // Generation mode: an answer from before the last change is recomputed (a stale hit).
        _state.pointee.counters.staleHits += 1
        _state.pointee.counters.misses += 1
        let answer = Self._lookupInBase(&_base.pointee, Key(cacheWords: words))
        _meta[i].answer = answer
        _summarize(words, answer, inWay: i)
        _meta[i].stamp = _state.pointee.generation
        _touch(i)
        return answer
      }
      _state.pointee.counters.hits += 1
      _touch(i)
      return _meta[i].answer
    }
    _state.pointee.counters.misses += 1
    let answer = Self._lookupInBase(&_base.pointee, Key(cacheWords: words))
    _remember(words, answer, tag: tag, first: first)
    return answer
  }

  @inlinable @inline(__always)
  func _touch(_ i: Int) {
    switch configuration.replacement {
    case .directMapped: break
    case .lru:
      _state.pointee.useCounter &+= 1
      _meta[i].used = _state.pointee.useCounter
    case .clock:  // set only when clear: a hot entry's hits store nothing
      if _meta[i].used == 0 { _meta[i].used = 1 }
    case .idleTimeout: _used[i] = _state.pointee.now
    }
  }

  @inlinable
  func _remember(_ words: CacheKeyWords, _ answer: Result, tag: UInt32, first: Int) {
    if configuration.replacement == .directMapped {
      // The set's one way is overwritten: no victim to choose, no use to record.
      let occupied = _meta[first].tag != 0
      _state.pointee.counters.evictions &+= occupied ? 1 : 0
      _state.pointee.live &+= occupied ? 0 : 1
      _heads[first] = words.head
      if words.hasTail { _tails[first] = words.tail }
      _meta[first] = _Meta(tag: tag, stamp: _state.pointee.generation, used: 0, answer: answer)
      _summarize(words, answer, inWay: first)
      _state.pointee.counters.inserts &+= 1
      return
    }
    var victim = -1
    for way in 0..<_ways where _meta[first + way].tag == 0 {
      victim = first + way
      break
    }
    if victim < 0 {
      switch configuration.replacement {
      case .directMapped:
        victim = first
      case .lru:
        // The oldest way: the largest age (use counter minus stamp, wrapping at 16 bits: exact
        // among ways used within the last 65,535 hits and inserts of the whole cache; a way
        // idle longer has an arbitrary apparent age — see the file comment).
        let now = _state.pointee.useCounter
        victim = first
        var oldest = now &- _meta[first].used
        for way in 1..<_ways where now &- _meta[first + way].used > oldest {
          victim = first + way
          oldest = now &- _meta[victim].used
        }
      case .clock:
        let set = first / _ways
        while true {
          let i = first + Int(_hands[set])
          _hands[set] = UInt8((Int(_hands[set]) + 1) % _ways)
          if _meta[i].used == 0 {
            victim = i
            break
          }
          _meta[i].used = 0
        }
      case .idleTimeout:
        for way in 0..<_ways where _state.pointee.now &- _used[first + way] > configuration.idleTimeout {
          victim = first + way
          break
        }
        if victim < 0 {
          _state.pointee.counters.rejected += 1
          return
        }
      }
      _evict(victim, expired: configuration.replacement == .idleTimeout)
    }
    _heads[victim] = words.head
    if words.hasTail { _tails[victim] = words.tail }
    _meta[victim] = _Meta(tag: tag, stamp: _state.pointee.generation, used: 0, answer: answer)
    _summarize(words, answer, inWay: victim)
    _state.pointee.live &+= 1
    _touch(victim)
    _state.pointee.counters.inserts += 1
  }

  /// Targeted invalidation: marks way `i`'s block, which has a new entry, for its summary to
  /// be recomputed before the next change uses it (a bit in a small array, not the summary:
  /// a miss pays no extra line).
  @inlinable @inline(__always)
  func _summarize(_ words: CacheKeyWords, _ answer: Result, inWay i: Int) {
    guard configuration.invalidation == .targeted else { return }
    let block = i &>> 2
    _dirty[block &>> 6] |= 1 &<< UInt64(block & 63)
  }

  /// Recomputes the summary of block `block` from its live ways.
  @inlinable
  func _summarizeBlock(_ block: Int) {
    let first = block &<< 2
    var summary: UInt64 = 0
    for i in first..<Swift.min(first &+ 4, configuration.capacity) where _meta[i].tag != 0 {
      summary |= Base.summaryBits(of: _words(i), answer: _meta[i].answer)
    }
    _summaries[block] = summary
  }

  /// Brings every dirty block's summary up to date.
  @inlinable
  func _refreshSummaries() {
    for w in 0..<Self._dirtyWords(configuration) {
      var bits = _dirty[w]
      _dirty[w] = 0
      while bits != 0 {
        _summarizeBlock(w &<< 6 &+ bits.trailingZeroBitCount)
        bits &= bits &- 1
      }
    }
  }

  /// Empties way `i` (which holds an entry).
  @inlinable @inline(__always)
  func _drop(_ i: Int) {
    _meta[i].tag = 0
    _state.pointee.live &-= 1
  }

  /// Frees slot `i`, counting an eviction (capacity) or an expiration (idle timeout).
  @inlinable
  func _evict(_ i: Int, expired: Bool) {
    _drop(i)
    if expired { _state.pointee.counters.expirations += 1 } else { _state.pointee.counters.evictions += 1 }
  }

  // MARK: Changes (through the cache only)

  @discardableResult
  public func insert(_ entry: Entry) throws(LookupError) -> EntryID {
    let id = try _base.pointee.insert(entry)
    _invalidate(after: entry)
    return id
  }

  @discardableResult
  public func remove(_ id: EntryID) throws(LookupError) -> Entry {
    let entry = try _base.pointee.remove(id)
    _invalidate(afterRemoving: entry)
    return entry
  }

  /// All or nothing: the batch is applied to a copy of the base; only when every change
  /// succeeded does the copy replace the base, and then each inserted and removed entry
  /// invalidates what it may affect. A failed batch leaves base and cache untouched.
  @discardableResult
  public func applyAtomically(_ changes: [StructureChange<Entry, EntryID>])
  throws(BatchUpdateError) -> BatchUpdateResult<Entry, EntryID> {
    var scratch = _base.pointee
    let result = try scratch.applyAtomically(changes)
    _base.pointee = scratch
    var inserted = result.insertedIDs.makeIterator()
    for change in changes {
      if case .insert(let entry) = change, inserted.next() != nil { _invalidate(after: entry) }
    }
    for entry in result.removedEntries { _invalidate(afterRemoving: entry) }
    return result
  }

  /// Runs `body` on the base (e.g. an SPD's `update` or default actions) and then forgets
  /// every cached answer, since the cache cannot know what `body` changed.
  public func modifyBase<R>(_ body: (inout Base) throws -> R) rethrows -> R {
    defer { invalidateAll() }
    return try body(&_base.pointee)
  }

  /// Forgets every cached answer.
  public func invalidateAll() {
    _forgetAll()
    _bumpGeneration()
  }

  /// Empties every way, counting each entry dropped as an invalidation.
  func _forgetAll() {
    _invalidateWays(query: .all, everyBlock: true) { _ in true }
  }

  /// Starts a new generation. Stamps are 16 bits, so when the counter wraps (every 65,535
  /// changes in generation mode) every entry is forgotten first: no entry can ever match a
  /// generation it was not computed in.
  @usableFromInline
  func _bumpGeneration() {
    _state.pointee.generation &+= 1
    if _state.pointee.generation == 0 {
      _forgetAll()
      _state.pointee.generation = 1
    }
  }

  /// Advances the logical clock used by `.idleTimeout`.
  public func advanceClock(to time: UInt32) {
    _state.pointee.now = time
  }

  /// Invalidates what removing `entry` may have altered: in targeted mode the ways whose
  /// answer it was, found from the per-way records alone (no key is read).
  @inlinable
  func _invalidate(afterRemoving entry: Entry) {
    guard configuration.invalidation == .targeted else { return _invalidate(after: entry) }
    _invalidateWays(query: Base.summaryQuery(ofRemoval: entry)) { Base.removal(of: entry, mayAffect: _meta[$0].answer) }
  }

  /// Drops every occupied way for which `affected` holds, counting invalidations. With
  /// targeted invalidation only the four-way blocks whose summary `query` admits are
  /// examined (a block it does not admit holds no entry `affected` could hold for), and
  /// each examined block's summary is recomputed from the entries it keeps — so bits of
  /// entries gone since (evicted, dropped) do not linger past the next examination.
  @inlinable
  func _invalidateWays(query: CacheSummaryQuery, everyBlock: Bool = false, where affected: (Int) -> Bool) {
    if _state.pointee.live == 0 { return }
    let targeted = configuration.invalidation == .targeted
    if targeted { _refreshSummaries() }
    let capacity = configuration.capacity
    var examined = 0
    for block in 0..<Self._blocks(capacity) {
      // `everyBlock` (forgetting everything) does not trust the summaries at all: a
      // structure may give an entry no bit.
      if targeted && !everyBlock && !query.admits(_summaries[block]) { continue }
      let first = block &<< 2
      for i in first..<Swift.min(first &+ 4, capacity) where _meta[i].tag != 0 {
        examined &+= 1
        if affected(i) {
          _drop(i)
          _state.pointee.counters.invalidations += 1
        }
      }
      if targeted { _summarizeBlock(block) }
    }
    if targeted { _state.pointee.counters.waysExamined &+= examined }
  }

  /// Invalidates what a change to `entry` may have altered (see the file comment).
  @inlinable
  func _invalidate(after entry: Entry) {
    switch configuration.invalidation {
    case .generation:
      _bumpGeneration()
      _state.pointee.counters.invalidations += 1
    case .targeted:
      _invalidateWays(query: Base.summaryQuery(ofChange: entry)) {
        Base.change(of: entry, mayAffect: Key(cacheWords: _words($0)), cachedAnswer: _meta[$0].answer)
      }
    }
  }

  // MARK: Reporting

  public var count: Int { base.count }

  /// Entries currently cached.
  public var cachedEntries: Int { _state.pointee.live }

  /// Whether a lookup of `key` now would be a clean hit (the key cached with a current,
  /// unexpired answer). Changes nothing: no counter, no use stamp.
  public func holds(_ key: Key) -> Bool {
    let words = key.cacheWords
    let (tag, first) = _place(words)
    for way in 0..<_ways where _meta[first &+ way].tag == tag && _isCurrentEntry(first &+ way, of: words) {
      return true
    }
    return false
  }

  /// Walks the table and traps on a broken invariant: the live count is the number of
  /// occupied ways, every occupied way's key is in the set its hash names with its tag, and
  /// (targeted invalidation) its summary bits are in its block's summary unless the block is
  /// marked dirty.
  public func checkInvariants() {
    var occupied = 0
    for i in 0..<configuration.capacity where _meta[i].tag != 0 {
      occupied += 1
      let words = _words(i)
      let (tag, first) = _place(words)
      precondition(Key(cacheWords: words).cacheWords == words, "FlowCache: way \(i) holds words no key makes")
      precondition(_meta[i].tag == tag, "FlowCache: way \(i) has a stale tag")
      precondition(first == i / _ways * _ways, "FlowCache: way \(i) in the wrong set")
      let block = i &>> 2
      if configuration.invalidation == .targeted && _dirty[block &>> 6] & 1 &<< UInt64(block & 63) == 0 {
        let bits = Base.summaryBits(of: words, answer: _meta[i].answer)
        precondition(_summaries[block] & bits == bits, "FlowCache: way \(i) missing from its block's summary")
      }
    }
    precondition(occupied == _state.pointee.live, "FlowCache: live count \(_state.pointee.live), occupied ways \(occupied)")
  }

  /// The cache's own bytes (fixed at creation) plus the base's.
  public var memoryFootprint: Int { cacheBytes + base.memoryFootprint }

  /// The cache's own bytes: tags/stamps/answers, keys, use stamps and hands, fixed at creation.
  public var cacheBytes: Int {
    configuration.capacity * (MemoryLayout<_Meta>.stride + 2 * MemoryLayout<CacheKeyHalf>.stride)
      + Self._timedWays(configuration) * MemoryLayout<UInt32>.stride
      + (_setMask + 1) + (Self._summaryBlocks(configuration) + Self._dirtyWords(configuration)) * MemoryLayout<UInt64>.stride
  }

  public var statistics: LookupStatistics {
    LookupStatistics([
      .init("cache capacity", configuration.capacity), .init("cache ways", _ways),
      .init("cached entries", cachedEntries), .init("hits", _state.pointee.counters.hits), .init("misses", _state.pointee.counters.misses),
      .init("inserts", _state.pointee.counters.inserts), .init("evictions", _state.pointee.counters.evictions),
      .init("invalidations", _state.pointee.counters.invalidations), .init("stale hits", _state.pointee.counters.staleHits),
      .init("expirations", _state.pointee.counters.expirations), .init("rejected", _state.pointee.counters.rejected),
      .init("cache bytes", cacheBytes),
    ] + base.statistics.counters)
  }

  /// Zeroes the counters (between measurement phases).
  public func resetCounters() { _state.pointee.counters = FlowCacheCounters() }
}

// MARK: - As an SPD

extension FlowCache: TargetedInvalidation where Base: PolicyDatabase {}

extension FlowCache: PolicyDatabase where Base: PolicyDatabase {
  /// A cache with the default configuration (4 Ki entries — the old kernel cache's per-CPU
  /// high-water mark —, 4-way LRU, targeted
  /// invalidation) over an empty base.
  public convenience init() {
    // The default configuration is valid by construction.
    self.init(base: Base(), configuration: FlowCache.defaultConfiguration)
  }

  /// 4 Ki entries, 4-way LRU, targeted invalidation.
  public static var defaultConfiguration: FlowCacheConfiguration {
    (try? FlowCacheConfiguration()) ?? { preconditionFailure("default cache configuration invalid") }()
  }

  @discardableResult
  public func update(_ policy: Policy) throws(LookupError) -> UInt32 {
    // The replaced policy has the same identity (selector, so the same flows) and index as
    // the new one: invalidating for the new one covers both.
    var stored = policy
    stored.index = try _base.pointee.update(policy)
    _invalidate(after: stored)
    return stored.index
  }

  public var defaultActions: DefaultActions {
    get { base.defaultActions }
    set { modifyBase { $0.defaultActions = newValue } }
  }

  public func policy(index: UInt32) -> Policy? { base.policy(index: index) }

  public var policies: [Policy] { base.policies }
}
