// TupleSpaceTable — tuple space search, as Open vSwitch's classifier does it, with
// TupleMerge's relaxation.
//
// Idea
//   Group policies by a *tuple*: (context, source prefix class, destination prefix class),
//   where the context is family/direction/type and a prefix class is a length no longer than
//   the rule's prefix (see "merging" below). Inside a
//   tuple, policies are hashed by their addresses masked to the class lengths; each hash
//   entry heads a list of the policies sharing that masked key, in rank order (priority,
//   then age). A lookup visits the tuples of the flow's context in order of their best rank,
//   masks the flow per tuple, probes one hash table, walks the (short) list checking each
//   candidate in full, and stops as soon as no remaining tuple can beat the best match found
//   (Srinivasan et al., "Packet classification using tuple space search", SIGCOMM 1999;
//   OVS `lib/classifier.c` with its priority-sorted subtables).
//
//   TupleMerge (Daly and Torng, 2017) observed that exact tuples explode with range and
//   prefix-length variety, and relaxed them: a tuple's key may use *fewer* bits than its
//   rules specify, and candidates are re-checked in full. Here ports and protocol are not
//   part of any tuple at all — every candidate is re-checked with `PolicyRule.matches`, so
//   port *ranges* cost nothing extra and never split a tuple — and prefix lengths merge as
//   in TupleMerge: a new rule joins the first existing tuple of its context, in walk order,
//   whose lengths do not exceed its own and whose list for its masked key is shorter than
//   `mergeLimit` (16); otherwise it opens (or joins) the tuple of its lengths rounded down
//   to a coarse grid (IPv4 0/8/16/32, IPv6 multiples of 32), else to a fine one (IPv4
//   multiples of 8, IPv6 of 16), else its exact lengths. So rules share few tuples while lists stay bounded: 2.4–5.4 tuples probed per
//   ClassBench lookup at 10k and 100k instead of 3.5–8.5 with the fine grid alone
//   (callgrind, acl1_10k: 477 → 416 instructions per lookup; fw1_10k 660 → 441; ipc1_10k
//   877 → 782), while 300 /24 sites under one /16 still get their own keys once the /16's
//   list is full. Placement depends on what existed when a rule arrived (the slot's tuple is
//   recorded for its removal); answers never do: any tuple whose lengths do not exceed a
//   rule's keys every flow the rule matches the same as the rule.
//
//   A tuple's hash table is open addressing over 64-byte groups of 12 entries, each found by
//   a 7-bit tag compared for the whole group at once, with per-group overflow counts
//   (SwissTable's tags, folly F14's counts; `TupleTagGroup`): a probe usually reads one cache line
//   and a miss is one test of a zero bit mask, where linear probing over single entries took
//   an unpredictable branch per entry of a run. Against that table (valgrind's branch model,
//   per lookup): mispredicted branches 5.1 → 3.9 on acl1_10k and 8.1 → 4.4 on ipc1_10k, for
//   10 % more instructions (the tag's broadcast and compare: 336 → 370 and 640 → 705).
//   Measured in alternating runs of both (Papers/data/bench-interleaved-tag-groups.jsonl):
//   bursts of 64 at 100k 9–14 % faster (acl1 41.1 → 35.5 ns, ipc1 48.6 → 43.9), single
//   lookups at 100k mixed (ipc1 46 → 40, acl1 43 → 53), at 10k within 2 ns either way;
//   0–11 % less memory. Linear probing kept 1/8 full was faster still at 10k (ipc1_10k
//   43 → 36.5 ns) — a miss decided by one load and one compare — at nearly three times the
//   memory.
//
//   The walk is software-pipelined: the group of the tuple two places ahead is hashed and
//   prefetched while the current one is probed (not for tuples that can no longer win).
//   The tuples are stored in walk order (by context, then best rank), so the walk reads
//   them in sequence with no indirection. IPv4 contexts have their own walk on one 64-bit
//   word: both IPv4 addresses side by side, masked for a tuple with one AND of the tuple's
//   two masks laid out the same way, and hashed with one 64×64→128-bit multiply under two
//   secrets (wyhash's "mum") instead of the two-round mix (callgrind, instructions per
//   acl1_10k lookup: 700 with 128-bit words → 553 with 64-bit ones → 478 with the one word
//   and the one multiply). From 32k policies on (tables and rules well beyond L2), a batch
//   walks the tuples once for all IPv4 keys of a context (see the batch `search`): per
//   tuple, every key still in the running is hashed and its group prefetched, then probed
//   and its head rule prefetched, then scanned, so the keys' cache misses overlap
//   (acl1_100k, bursts of 64: 150 → 70 ns per key). Smaller tables sit in L2, and a batch
//   there is the single search key by key.
//
// Complexity (n policies, T tuples in the flow's context, L the longest list of one key)
//   lookup O(T · (1 + L)) worst case, usually a few probes thanks to the best-rank early exit;
//   insert O(T · mergeLimit) to choose the tuple (a probe and at most `mergeLimit` list steps
//   per candidate), remove O(1) expected; plus O(T log T) to re-sort the tuple order, and
//   O(table) to recompute a tuple's best rank when its best rule leaves.
//
// Memory
//   8 bytes per policy (the list link and the recorded tuple); hash entries in 64-byte groups
//   of 12, kept at most half full (≈ 11–21 bytes per distinct masked key); ~100 bytes per
//   tuple; plus the shared registry (≈ 120 B/policy).
//   All tuple tables live in one flat pool (so lookups touch no reference counts); a grown
//   table leaves a hole; the pool is compacted (to its exact size) once holes exceed a quarter.
//
// Good at / bad at
//   Fast and incremental on real rule sets (few tuples, short lists), IPv4 and IPv6 alike.
//   Bad when many rules share one masked key (long lists: e.g. thousands of rules differing
//   only in ports), and when a flow's context has many tuples whose best ranks are all better
//   than its match (no early exit).
//
// Thread safety
//   A value type; lookups do not mutate. Concurrent lookups on an unchanging table are safe.

import CLookupSupport

/// Tuple space search with TupleMerge-style relaxed tuples. See the file comment.
public struct TupleSpaceTable: SlotIndexedPolicyDatabase, Sendable {
  public var _registry = PolicyRegistry()
  public var _index = TupleSpaceIndex()

  public init() {}

  /// A table whose batch lookups walk the tuples once per group of keys from `slots`
  /// policies on (see `TupleSpaceIndex.groupSearchThreshold`; 0: always).
  public init(groupSearchFrom slots: Int) {
    _index = TupleSpaceIndex(classing: .grid, groupSearchThreshold: slots)
  }
}

/// The index of `TupleSpaceTable`.
public struct TupleSpaceIndex: PolicySlotIndex {
  /// One tuple: a hash table of masked (source, destination) keys → list heads.
  @usableFromInline
  internal struct _Tuple: Sendable {
    @usableFromInline var sourceMask: UInt128
    @usableFromInline var destinationMask: UInt128
    @usableFromInline var bestRank: UInt64
    /// The table: groups `tableOffset / 8 ..< tableOffset / 8 + groupMask + 1` of the pool
    /// (`TupleTagGroup`, 8 words each).
    @usableFromInline var tableOffset: Int
    @usableFromInline var groupMask: Int
    @usableFromInline var keys: Int
    @usableFromInline var rules: Int
    @usableFromInline var context: UInt8
    @usableFromInline var sourceClass: UInt8
    @usableFromInline var destinationClass: UInt8
    /// An IPv4 tuple's two masks in one word, laid out as `TupleSpaceIndex._wordIPv4` lays
    /// out a flow's addresses: source mask in the high half, destination mask in the low.
    @usableFromInline var maskIPv4: UInt64

    /// Entries the table can hold (it is kept at most half full).
    @usableFromInline var capacity: Int { (groupMask + 1) * TupleTagGroup.capacity }

    /// The tuple's classes as a slot records them (`_Link.placement`).
    @usableFromInline var placement: UInt16 { UInt16(sourceClass) | UInt16(destinationClass) << 8 }

    @usableFromInline
    init(sourceClass: UInt8, destinationClass: UInt8, context: UInt8, tableOffset: Int, groupMask: Int) {
      sourceMask = IPAddress.mask(length: Int(sourceClass))
      destinationMask = IPAddress.mask(length: Int(destinationClass))
      bestRank = .max
      self.tableOffset = tableOffset
      self.groupMask = groupMask
      keys = 0
      rules = 0
      self.context = context
      self.sourceClass = sourceClass
      self.destinationClass = destinationClass
      maskIPv4 = TupleSpaceIndex._wordIPv4(source: UInt64(truncatingIfNeeded: sourceMask &>> 64),
                                           destination: UInt64(truncatingIfNeeded: destinationMask &>> 64))
    }
  }

  /// The end of a list.
  @usableFromInline static let endOfList = UInt32.max

  /// The tuples, sorted by (context, best rank): the walk order. A change that moves a
  /// tuple's best rank re-sorts them (there are tens, not thousands).
  @usableFromInline internal var _tuples: [_Tuple] = []
  /// All tuple tables, back to back, in 64-byte tag groups (`TupleTagGroup`; see the file
  /// comment).
  @usableFromInline internal var _pool = LineAlignedArray<UInt64>()
  @usableFromInline internal var _poolGarbage = 0
  /// Per slot: the next slot of its list and the tuple holding it.
  @usableFromInline
  internal struct _Link: Sendable, BitwiseCopyable {
    /// The next slot of the slot's list (rank order), or `endOfList`.
    @usableFromInline var next: UInt32
    /// The classes of the tuple holding the slot (source | destination << 8): with merging,
    /// a rule's tuple depends on what existed when it arrived, so a removal looks it up
    /// here — beside the link the removal reads anyway, not in an array of its own (one
    /// more cache miss per removal at 100k policies, measured).
    @usableFromInline var placement: UInt16

    @inlinable init(next: UInt32, placement: UInt16) {
      self.next = next
      self.placement = placement
    }
  }

  /// For each slot, its list link and placement.
  @usableFromInline internal var _next = LineAlignedArray<_Link>()
  /// The tuples of context c are `_tuples[_orderStart[c] ..< _orderStart[c + 1]]`.
  @usableFromInline internal var _orderStart: [Int32] = Array(repeating: 0, count: PolicyRule.contextCount + 1)
  @usableFromInline internal let _seed: UInt64
  /// The second secret of the IPv4 hash (odd; see `_hashIPv4(word:)`).
  @usableFromInline internal let _multiplier: UInt64
  /// How rules are grouped into tuples.
  public let classing: PrefixClassing

  /// How a rule's prefix lengths map to its tuple's (the bits its hash key uses).
  public enum PrefixClassing: Hashable, Sendable {
    /// Tuple space search with TupleMerge's merging: a rule goes to a tuple whose lengths do
    /// not exceed its own, chosen when it arrives (see `_tupleID(for:rules:)`); `classes(of:)`
    /// gives the fine grid (IPv4 multiples of 8, IPv6 of 16) that choice falls back on.
    case grid
    /// The kernel's exact table: every hashable rule of a context is keyed on the hash
    /// thresholds' bits (`HashedSelectorTable`).
    case thresholds(HashThresholds)
  }

  /// From how many slots on the batch search walks the tuples once per group of keys
  /// (see `_searchesInGroups`).
  public let groupSearchThreshold: Int

  public init() { self.init(classing: .grid) }

  public init(classing: PrefixClassing, groupSearchThreshold: Int = 32_768) {
    self.groupSearchThreshold = groupSearchThreshold
    _seed = SeededHash.randomSeed()
    _multiplier = SeededHash.mix(_seed, UInt64(0x243F_6A88_85A3_08D3)) | 1
    self.classing = classing
  }

  public func emptyCopy() -> TupleSpaceIndex {
    TupleSpaceIndex(classing: classing, groupSearchThreshold: groupSearchThreshold)
  }

  // MARK: Hashing

  /// The (source, destination) class lengths of a rule: the bits of its tuple's key.
  @inlinable
  func classes(of rule: PolicyRule) -> (source: UInt8, destination: UInt8) {
    switch classing {
    case .grid:
      let ipv6 = rule.context & 1 != 0
      return ipv6 ? (rule.sourceLength & ~15, rule.destinationLength & ~15)
                  : (rule.sourceLength & ~7, rule.destinationLength & ~7)
    case .thresholds(let thresholds):
      return thresholds.bits(context: rule.context)
    }
  }

  @inlinable @inline(__always)
  func _hash(source: UInt128, destination: UInt128, ipv6: Bool) -> UInt64 {
    if !ipv6 {
      return _hashIPv4(source: UInt64(truncatingIfNeeded: source &>> 64),
                       destination: UInt64(truncatingIfNeeded: destination &>> 64))
    }
    return SeededHash.mix(SeededHash.mix(_seed, source), destination)
  }

  /// The hash of masked IPv4 addresses given as the high words of their left-aligned bits:
  /// both fit in the top 32 bits, so one word and one mix.
  @inlinable @inline(__always)
  func _hashIPv4(source: UInt64, destination: UInt64) -> UInt64 {
    _hashIPv4(word: Self._wordIPv4(source: source, destination: destination))
  }

  /// The hash of a masked IPv4 address word (see `_wordIPv4`): one 64×64→128-bit multiply
  /// of the word under one secret by another, folded — half the instructions of the
  /// two-round mix, on the step every visited tuple takes.
  @inlinable @inline(__always)
  func _hashIPv4(word: UInt64) -> UInt64 { SeededHash.fold(word ^ _seed, _multiplier) }

  /// Two IPv4 addresses (the high words of their left-aligned bits) in one word: source in
  /// the high half, destination in the low. Masking the word with a tuple's `maskIPv4`
  /// masks both addresses at once.
  @inlinable @inline(__always)
  static func _wordIPv4(source: UInt64, destination: UInt64) -> UInt64 {
    source & 0xFFFF_FFFF_0000_0000 | destination &>> 32
  }

  @inlinable @inline(__always)
  func _hash(of rule: PolicyRule, in tuple: _Tuple) -> UInt64 {
    _hash(source: rule.sourceBits & tuple.sourceMask, destination: rule.destinationBits & tuple.destinationMask,
          ipv6: tuple.context & 1 != 0)
  }

  // MARK: Search

  /// How many tuples ahead of the one being probed the search hashes and prefetches (the
  /// single walk keeps exactly these two hashes in registers; changing this means changing
  /// `_walk`).
  /// (Three while a lookup probed 3.5–8.5 tuples; with merged tuples it probes 2.4–5.4, and
  /// two hashes fewer buckets it never reads: acl1_10k 416 → 402 instructions, ipc1_10k
  /// 782 → 741, no slower at 100k.)
  @usableFromInline static let lookahead = 2  // `_walk` keeps two hashes in registers

  @inlinable
  public func search(_ key: FlowKey, context: UInt8, rules: PolicyRules, best: inout PolicyMatchCandidate) {
    _search(key, context: context, rules: rules, best: &best)
  }

  /// The single search, always inlined (the batch search's loop inlines it too).
  @inlinable @inline(__always)
  func _search(_ key: FlowKey, context: UInt8, rules: PolicyRules, best: inout PolicyMatchCandidate) {
    // `_orderStart` has `PolicyRule.contextCount + 1` entries: read without bounds checks
    // once the context is known to be in range (a flow's always is; this is a public entry).
    guard Int(context) < PolicyRule.contextCount else { return }
    let (start, end) = _orderStart.withUnsafeBufferPointer { order in
      (Int(order[Int(context)]), Int(order[Int(context) &+ 1]))
    }
    if start == end { return }
    if context & 1 == 0 {
      // IPv4: the same walk on 64-bit words. An IPv4 address is the top 32 bits of its
      // left-aligned 128 bits, and every mask of an IPv4 tuple or rule is 0 in the low word,
      // so masking, hashing, verifying an entry and matching a rule's prefixes all need the
      // high words only — half the arithmetic of the general walk.
      let source = UInt64(truncatingIfNeeded: key.source &>> 64)
      let destination = UInt64(truncatingIfNeeded: key.destination &>> 64)
      let word = Self._wordIPv4(source: source, destination: destination)
      _walk(start: start, end: end, best: &best,
            hash: { tuple in _hashIPv4(word: word & tuple.pointee.maskIPv4) },
            probe: { tuple, hash, pool, next, best in
              guard let head = Self._probeIPv4(pool, tuple.pointee, hash: hash, word: word & tuple.pointee.maskIPv4,
                                               rules: rules)
              else { return }
              Self._scanIPv4(from: head, key: key, source: source, destination: destination, context: context,
                             rules: rules, next: next, best: &best)
            })
    } else {
      _walk(start: start, end: end, best: &best,
            hash: { tuple in
              _hash(source: key.source & tuple.pointee.sourceMask,
                    destination: key.destination & tuple.pointee.destinationMask, ipv6: true)
            },
            probe: { tuple, hash, pool, next, best in
              guard let head = Self._probe(pool, tuple.pointee, hash: hash, source: key.source & tuple.pointee.sourceMask,
                                           destination: key.destination & tuple.pointee.destinationMask, rules: rules)
              else { return }
              Self._scan(from: head, key: key, context: context, rules: rules, next: next, best: &best)
            })
    }
  }

  /// The tuple walk of one lookup, over the context's tuples `_tuples[start..<end]` in
  /// best-rank order, software-pipelined: the home group of tuple k + lookahead is hashed
  /// (`hash`) and prefetched while tuple k is probed (`probe`), so consecutive probes' cache
  /// misses overlap. The walk stops at the first tuple that cannot beat `best`, and hashes
  /// no tuple that cannot (tuples are in best-rank order and the best only improves).
  @inlinable @inline(__always)
  func _walk(start: Int, end: Int, best: inout PolicyMatchCandidate, hash: (UnsafePointer<_Tuple>) -> UInt64,
             probe: (UnsafePointer<_Tuple>, UInt64, UnsafeBufferPointer<UInt64>, UnsafeBufferPointer<_Link>,
                     inout PolicyMatchCandidate) -> Void) {
    _tuples.withUnsafeBufferPointer { tuples in
      _pool.withUnsafeBufferPointer { pool in
        _next.withUnsafeBufferPointer { next in
          func hashAndPrefetch(_ tuple: UnsafePointer<_Tuple>) -> UInt64 {
            let hash = hash(tuple)
            lookup_prefetch(TupleTagGroup.at(pool.baseAddress! + tuple.pointee.tableOffset,
                                             TupleTagGroup.home(hash, groupMask: tuple.pointee.groupMask)))
            return hash
          }
          // Two tuples ahead (`lookahead`), their hashes in registers: `current` is the
          // tuple being probed, `following` the next one's, computed a step earlier.
          guard start < end else { return }
          var tuple = tuples.baseAddress! + start
          let last = tuples.baseAddress! + end, beforeLast = last - 1
          var current = hashAndPrefetch(tuple)
          var following: UInt64 = tuple < beforeLast ? hashAndPrefetch(tuple + 1) : 0
          while tuple < last {
            if tuple.pointee.bestRank >= best.rank { return }
            // A tuple that cannot beat the best now never will (the best only improves, and
            // the walk ends before it): its hash is not computed (and never read). Pointers
            // stay within the tuples and one past them: `tuple + 2` is formed only when
            // `tuple + 1 < beforeLast`.
            let afterNext: UInt64 = tuple + 1 < beforeLast && (tuple + 2).pointee.bestRank < best.rank
              ? hashAndPrefetch(tuple + 2) : 0
            probe(tuple, current, pool, next, &best)
            current = following
            following = afterNext
            tuple += 1
          }
        }
      }
    }
  }

  /// `_scan` for an IPv4 flow whose addresses' high words are `source` and `destination`.
  @inlinable @inline(__always)
  static func _scanIPv4(from head: UInt32, key: FlowKey, source: UInt64, destination: UInt64, context: UInt8,
                        rules: PolicyRules, next: UnsafeBufferPointer<_Link>, best: inout PolicyMatchCandidate) {
    // Every rule of a tuple has the tuple's context: it is not checked again.
    var slot = head
    while slot != endOfList {
      let rule = rules.hot.baseAddress! + Int(slot)
      let rank = rule.pointee.rank
      if rank >= best.rank { return }
      if rule.pointee.matchesIPv4Addresses(source: source, destination: destination)
        && rule.pointee.matchesBesidesAddresses(word: PolicyRule.selectorWord(of: key), key, extras: rules.extras[Int(slot)]) {
        best = PolicyMatchCandidate(rank: rank, slot: slot)
        return
      }
      slot = next[Int(slot)].next
    }
  }

  /// `_probe` for an IPv4 tuple, given the flow's masked address word (`_wordIPv4`).
  @inlinable @inline(__always)
  static func _probeIPv4(_ pool: UnsafeBufferPointer<UInt64>, _ tuple: _Tuple, hash: UInt64, word: UInt64,
                         rules: PolicyRules) -> UInt32? {
    _findIPv4(pool.baseAddress! + tuple.tableOffset, groupMask: tuple.groupMask, hash: hash, word: word,
              mask: tuple.maskIPv4, hot: rules.hot.baseAddress!)
  }

  /// The IPv4 probe: the head of the list whose masked address word is `word` in the table
  /// at `table` (entries with the key's tag verified against their head rule), or nil once
  /// a group without overflow has no such entry.
  @inlinable @inline(__always)
  static func _findIPv4(_ table: UnsafePointer<UInt64>, groupMask: Int, hash: UInt64, word: UInt64, mask: UInt64,
                        hot: UnsafePointer<PolicyRule>) -> UInt32? {
    TupleTagGroup.find(table, groupMask: groupMask, hash: hash) { head in
      let rule = hot + Int(head)
      return _wordIPv4(source: UInt64(truncatingIfNeeded: rule.pointee.sourceBits &>> 64),
                       destination: UInt64(truncatingIfNeeded: rule.pointee.destinationBits &>> 64)) & mask == word
    }?.value
  }


  /// Batch search, in bursts of `burst` keys. IPv4 keys of one context walk the tuples
  /// *together* (as Open vSwitch's dpcls looks a batch up subtable by subtable): for each
  /// tuple in walk order, every key that the tuple can still improve is masked and hashed
  /// and its home group prefetched; then each home group's tags are matched, and the first head
  /// rule's line prefetched; then each is verified and its list scanned. Each key visits
  /// the same tuples in the same order as its single search and stops at the same point
  /// (a key leaves the group at the first tuple whose best rank cannot beat its match), so
  /// answers are the single search's — but a tuple's mask, table and seed stay in registers
  /// across the group, and the group's cache misses overlap instead of following one
  /// another. IPv6 keys use the single search key by key.
  @inlinable
  public func search(_ keys: UnsafeBufferPointer<FlowKey>, contexts: UnsafeBufferPointer<UInt8>, rules: PolicyRules,
                     best: UnsafeMutableBufferPointer<PolicyMatchCandidate>) {
    guard let keyBase = keys.baseAddress, let contextBase = contexts.baseAddress, let bestBase = best.baseAddress
    else { return }
    // Two temporaries of 1 KiB each: a larger one is not always taken from the stack (the
    // runtime may fall back to the heap), and a lookup must not allocate.
    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * Self.burst) { wordsAndHashes in
      withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * Self.burst) { spotsAndMembers in
        var offset = 0
        while offset < keys.count {
          let count = min(Self.burst, keys.count - offset)
          _searchBurst(keyBase + offset, contextBase + offset, bestBase + offset, count: count, rules: rules,
                       scratch: wordsAndHashes.baseAddress!, more: spotsAndMembers.baseAddress!)
          offset += count
        }
      }
    }
  }

  /// Keys per burst of the batch search (a caller's burst of 64 in one group: more misses
  /// in flight than with 32, measured). Its scratch is four words per key, in two 1 KiB
  /// stack temporaries.
  @usableFromInline static let burst = 64
  /// Whether the batch search walks the tuples once per group of keys. Measured here
  /// (acl1, bursts of 64): with 100k rules the tables and rules are far beyond L2 and the
  /// group walk halves the time per key (150 → 81 ns), because the group's misses overlap;
  /// with 10k rules nearly everything is in L2, there is little to overlap, and keeping a
  /// group's state in memory makes it slower than searching key by key (75 → 100 ns). The
  /// switch is the slot count (`groupSearchThreshold`, 32k by default), as a stand-in for
  /// the working set: 32k rules are 2 MiB of rule lines alone.
  @inlinable var _searchesInGroups: Bool { _next.count >= groupSearchThreshold }

  /// Below the group threshold the batch search is the single search key by key, which the
  /// single lookup does without the burst's bookkeeping.
  @inlinable public var prefersBatchSearch: Bool { _searchesInGroups }

  /// One burst: the keys grouped by context, each IPv4 group searched together.
  @inlinable @inline(__always)
  func _searchBurst(_ keys: UnsafePointer<FlowKey>, _ contexts: UnsafePointer<UInt8>,
                    _ best: UnsafeMutablePointer<PolicyMatchCandidate>, count: Int, rules: PolicyRules,
                    scratch: UnsafeMutablePointer<UInt64>, more: UnsafeMutablePointer<UInt64>) {
    var pending: UInt64 = count == 64 ? ~0 : (1 &<< UInt64(count)) &- 1
    let members = more + Self.burst
    while pending != 0 {
      let context = contexts[pending.trailingZeroBitCount]
      var n = 0
      var rest = pending
      while rest != 0 {
        let i = rest.trailingZeroBitCount
        rest &= rest &- 1
        if contexts[i] == context {
          members[n] = UInt64(i)
          n &+= 1
          pending &= ~(1 &<< UInt64(i))
        }
      }
      if context & 1 != 0 || !_searchesInGroups {
        for m in 0..<n {
          let i = Int(members[m])
          var candidate = best[i]  // in a register for the walk, not behind the pointer
          _search(keys[i], context: context, rules: rules, best: &candidate)
          best[i] = candidate
        }
      } else {
        _searchGroupIPv4(keys, context: context, members: members, count: n, best: best, rules: rules,
                         scratch: scratch, spots: more)
      }
    }
  }

  /// The IPv4 keys `keys[members[0..<count]]`, all of `context`, searched together (see
  /// the batch search). Scratch: address words, then hashes; `spots`: whether the key's
  /// probe must go on (a candidate in its home group, or the group overflowed).
  @inlinable @inline(__always)
  func _searchGroupIPv4(_ keys: UnsafePointer<FlowKey>, context: UInt8, members: UnsafeMutablePointer<UInt64>, count: Int,
                        best: UnsafeMutablePointer<PolicyMatchCandidate>, rules: PolicyRules,
                        scratch: UnsafeMutablePointer<UInt64>, spots: UnsafeMutablePointer<UInt64>) {
    let start = Int(_orderStart[Int(context)]), end = Int(_orderStart[Int(context) + 1])
    if start == end { return }
    let words = scratch, hashes = scratch + Self.burst
    for m in 0..<count {
      let i = Int(members[m])
      words[i] = Self._wordIPv4(source: UInt64(truncatingIfNeeded: keys[i].source &>> 64),
                                destination: UInt64(truncatingIfNeeded: keys[i].destination &>> 64))
    }
    let noSpot = UInt64.max
    _tuples.withUnsafeBufferPointer { tuples in
      _pool.withUnsafeBufferPointer { pool in
        _next.withUnsafeBufferPointer { next in
          let hot = rules.hot.baseAddress!
          var active = count
          for t in start..<end {
            let tuple = tuples.baseAddress! + t
            let mask = tuple.pointee.maskIPv4, bestRank = tuple.pointee.bestRank
            let table = pool.baseAddress! + tuple.pointee.tableOffset, groupMask = tuple.pointee.groupMask
            // Keys this tuple can still improve: hash, prefetch the home group.
            var kept = 0
            for m in 0..<active {
              let i = Int(members[m])
              if bestRank < best[i].rank {
                members[kept] = UInt64(i)
                let hash = _hashIPv4(word: words[i] & mask)
                hashes[kept] = hash
                lookup_prefetch(TupleTagGroup.at(table, TupleTagGroup.home(hash, groupMask: groupMask)))
                kept &+= 1
              }
            }
            active = kept
            if active == 0 { return }
            // Match the home group's tags; prefetch the first candidate's head rule. A key
            // without a candidate there is done with this tuple unless the group overflowed.
            for m in 0..<active {
              let hash = hashes[m]
              let group = TupleTagGroup.at(table, TupleTagGroup.home(hash, groupMask: groupMask))
              let probe = TupleTagGroup.probe(group, TupleTagGroup.tag(hash))
              let candidates = probe & TupleTagGroup.entryBits
              if candidates != 0 {
                lookup_prefetch(hot + Int(TupleTagGroup.value(group, candidates.trailingZeroBitCount)))
              }
              spots[m] = probe != 0 ? 0 : noSpot
            }
            // Verify (going on past a tag collision or an overflowed group) and scan.
            for m in 0..<active where spots[m] != noSpot {
              let i = Int(members[m])
              guard let head = Self._findIPv4(table, groupMask: groupMask, hash: hashes[m], word: words[i] & mask,
                                              mask: mask, hot: hot)
              else { continue }
              Self._scanIPv4(from: head, key: keys[i], source: words[i] & 0xFFFF_FFFF_0000_0000,
                             destination: words[i] &<< 32, context: context, rules: rules, next: next, best: &best[i])
            }
          }
        }
      }
    }
  }

  /// The head slot of the list whose masked key is (source, destination), if any.
  @inlinable @inline(__always)
  static func _probe(_ pool: UnsafeBufferPointer<UInt64>, _ tuple: _Tuple, hash: UInt64, source: UInt128,
                     destination: UInt128, rules: PolicyRules) -> UInt32? {
    TupleTagGroup.find(pool.baseAddress! + tuple.tableOffset, groupMask: tuple.groupMask, hash: hash) { head in
      let rule = rules[head]
      return rule.sourceBits & tuple.sourceMask == source && rule.destinationBits & tuple.destinationMask == destination
    }?.value
  }


  /// Walks a rank-ordered list, lowering `best` at the first full match that beats it.
  @inlinable @inline(__always)
  static func _scan(from head: UInt32, key: FlowKey, context: UInt8, rules: PolicyRules,
                    next: UnsafeBufferPointer<_Link>, best: inout PolicyMatchCandidate) {
    var slot = head
    while slot != endOfList {
      let rank = rules[slot].rank
      if rank >= best.rank { return }
      if rules.matches(slot, key, context: context) {
        best = PolicyMatchCandidate(rank: rank, slot: slot)
        return
      }
      slot = next[Int(slot)].next
    }
  }

  // MARK: Changes

  public mutating func link(_ slot: UInt32, rules: LineAlignedArray<PolicyRule>) {
    let rule = rules[Int(slot)]
    if _next.count <= Int(slot) {
      _next.append(repeating: _Link(next: Self.endOfList, placement: 0), count: Int(slot) + 1 - _next.count)
    }
    let t = _tupleID(for: rule, rules: rules)
    _next[Int(slot)].placement = _tuples[t].placement
    let tuple = _tuples[t]
    // The key's hash does not depend on the table's size: it serves the growth below too.
    let hash = _hash(of: rule, in: tuple)
    if let found = _locate(rule, hash: hash, in: tuple, headRule: { rules[Int($0)] }) {
      // The key's list, in rank order.
      let head = found.head
      if rule.rank < rules[Int(head)].rank {
        _next[Int(slot)].next = head
        _setHead(slot, group: found.group, entry: found.entry, tuple: tuple)
      } else {
        var previous = head
        while _next[Int(previous)].next != Self.endOfList && rules[Int(_next[Int(previous)].next)].rank < rule.rank {
          previous = _next[Int(previous)].next
        }
        _next[Int(slot)].next = _next[Int(previous)].next
        _next[Int(previous)].next = slot
      }
    } else {  // a new key: a one-element list
      if (tuple.keys + 1) * 2 > tuple.capacity { _growTable(t, rules: rules) }
      _next[Int(slot)].next = Self.endOfList
      let grown = _tuples[t]
      _pool.withUnsafeMutableBufferPointer { pool in
        TupleTagGroup.insert(pool.baseAddress! + grown.tableOffset, groupMask: grown.groupMask, hash: hash, value: slot)
      }
      _tuples[t].keys += 1
    }
    _tuples[t].rules += 1
    if rule.rank < _tuples[t].bestRank {
      _tuples[t].bestRank = rule.rank
      _rebuildOrder()
    }
  }

  public mutating func unlink(_ slot: UInt32, rule: PolicyRule, rules: LineAlignedArray<PolicyRule>) {
    let placement = _next[Int(slot)].placement
    guard let t = _tuples.firstIndex(where: { $0.context == rule.context && $0.placement == placement })
    else { preconditionFailure("TupleSpaceIndex.unlink: no tuple for the rule") }
    let tuple = _tuples[t]
    // The slot itself may already hold a replacement rule: identify lists by `rule` for it.
    let hash = _hash(of: rule, in: tuple)
    guard let found = _locate(rule, hash: hash, in: tuple, headRule: { $0 == slot ? rule : rules[Int($0)] })
    else { preconditionFailure("TupleSpaceIndex.unlink: key not found") }
    if found.head == slot {
      let successor = _next[Int(slot)].next
      if successor != Self.endOfList {
        _setHead(successor, group: found.group, entry: found.entry, tuple: tuple)
      } else {
        _pool.withUnsafeMutableBufferPointer { pool in
          TupleTagGroup.remove(pool.baseAddress! + tuple.tableOffset, groupMask: tuple.groupMask, hash: hash,
                               group: found.group, entry: found.entry)
        }
        _tuples[t].keys -= 1
      }
    } else {
      var previous = found.head
      while _next[Int(previous)].next != slot {
        precondition(_next[Int(previous)].next != Self.endOfList, "TupleSpaceIndex.unlink: slot not in its list")
        previous = _next[Int(previous)].next
      }
      _next[Int(previous)].next = _next[Int(slot)].next
    }
    _next[Int(slot)].next = Self.endOfList
    _tuples[t].rules -= 1
    if _tuples[t].rules == 0 {
      _removeTuple(t)
      _rebuildOrder()
    } else if rule.rank == _tuples[t].bestRank {
      _recomputeBestRank(t, rules: rules)
      _rebuildOrder()
    }
  }

  /// Makes `head` the head of the list in entry `entry` of group `group` of `tuple`'s table.
  private mutating func _setHead(_ head: UInt32, group: Int, entry: Int, tuple: _Tuple) {
    _pool.withUnsafeMutableBufferPointer { pool in
      TupleTagGroup.setValue(TupleTagGroup.at(pool.baseAddress! + tuple.tableOffset, group), entry, head)
    }
  }

  /// At most this many rules share a masked key in a tuple a rule merges into (TupleMerge's
  /// collision limit): merging never makes a list longer than this, except where rules
  /// share the key at their own lengths (they would share a list anyway).
  @usableFromInline static let mergeLimit = 16

  /// The tuple a new rule goes to (created when missing).
  ///
  /// `.thresholds`: the tuple of the thresholds' bits, always. `.grid` merges, as
  /// TupleMerge does: the first tuple of the rule's context, in walk order (best rank
  /// first), whose prefix lengths do not exceed the rule's and whose list for the rule's
  /// masked key holds fewer than `mergeLimit` rules; failing that, the tuple of the rule's
  /// lengths rounded down to the coarse grid (IPv4: 0, 8, 16, 32; IPv6: multiples of 32),
  /// then to the fine one (IPv4: multiples of 8; IPv6: of 16), then the exact lengths — the
  /// first that does not exist yet or has room, the exact one in any case. Fewer tuples,
  /// fewer probes per lookup (ClassBench 10k/100k: 2.4–5.4 tuples probed instead of
  /// 3.5–8.5), and no list grows past the limit by merging, so many /24s under one /16
  /// keep their own keys.
  private mutating func _tupleID(for rule: PolicyRule, rules: LineAlignedArray<PolicyRule>) -> Int {
    guard case .grid = classing else {
      let (sourceClass, destinationClass) = classes(of: rule)
      return _tuple(context: rule.context, sourceClass, destinationClass) ?? _addTuple(rule.context, sourceClass, destinationClass)
    }
    let context = Int(rule.context)
    for t in Int(_orderStart[context])..<Int(_orderStart[context + 1])
    where _tuples[t].sourceClass <= rule.sourceLength && _tuples[t].destinationClass <= rule.destinationLength
      && _listLength(t, of: rule, limit: Self.mergeLimit, rules: rules) < Self.mergeLimit {
      return t
    }
    let ipv6 = rule.context & 1 != 0
    let coarse = ipv6 ? (rule.sourceLength & ~31, rule.destinationLength & ~31)
                      : (Self._coarseIPv4(rule.sourceLength), Self._coarseIPv4(rule.destinationLength))
    let fine = classes(of: rule)
    // An existing one was a candidate above, and full.
    if _tuple(context: rule.context, coarse.0, coarse.1) == nil { return _addTuple(rule.context, coarse.0, coarse.1) }
    if _tuple(context: rule.context, fine.source, fine.destination) == nil {
      return _addTuple(rule.context, fine.source, fine.destination)
    }
    return _tuple(context: rule.context, rule.sourceLength, rule.destinationLength)
      ?? _addTuple(rule.context, rule.sourceLength, rule.destinationLength)
  }

  /// An IPv4 prefix length rounded down to 0, 8, 16 or 32.
  private static func _coarseIPv4(_ length: UInt8) -> UInt8 { length == 32 ? 32 : length & ~7 == 24 ? 16 : length & ~7 }

  /// The tuple of `context` with these classes, if any.
  private func _tuple(context: UInt8, _ sourceClass: UInt8, _ destinationClass: UInt8) -> Int? {
    _tuples.firstIndex {
      $0.context == context && $0.sourceClass == sourceClass && $0.destinationClass == destinationClass
    }
  }

  /// The number of rules (up to `limit`) in tuple `t`'s list for `rule`'s masked key.
  private func _listLength(_ t: Int, of rule: PolicyRule, limit: Int, rules: LineAlignedArray<PolicyRule>) -> Int {
    var length = 0
    let tuple = _tuples[t]
    var slot = _locate(rule, hash: _hash(of: rule, in: tuple), in: tuple, headRule: { rules[Int($0)] })?.head
      ?? Self.endOfList
    while slot != Self.endOfList && length < limit {
      length += 1
      slot = _next[Int(slot)].next
    }
    return length
  }

  /// The entry of `rule`'s masked key in `tuple`'s table, if the key is there: its group,
  /// its place in the group and the head of its list. Tags are compared first, so a head
  /// rule is read (a cache miss in a large table) only for an entry that may be the key's;
  /// `headRule` gives a listed slot's rule.
  private func _locate(_ rule: PolicyRule, hash: UInt64, in tuple: _Tuple,
                       headRule: (UInt32) -> PolicyRule) -> (group: Int, entry: Int, head: UInt32)? {
    let source = rule.sourceBits & tuple.sourceMask, destination = rule.destinationBits & tuple.destinationMask
    return _pool.withUnsafeBufferPointer { pool in
      TupleTagGroup.find(pool.baseAddress! + tuple.tableOffset, groupMask: tuple.groupMask, hash: hash) { head in
        let rule = headRule(head)
        return rule.sourceBits & tuple.sourceMask == source && rule.destinationBits & tuple.destinationMask == destination
      }.map { ($0.group, $0.entry, $0.value) }
    }
  }


  /// A new, empty tuple (placed last; `link` re-sorts once it holds its first rule).
  private mutating func _addTuple(_ context: UInt8, _ sourceClass: UInt8, _ destinationClass: UInt8) -> Int {
    _tuples.append(_Tuple(sourceClass: sourceClass, destinationClass: destinationClass, context: context,
                          tableOffset: _pool.count, groupMask: 0))
    _pool.append(repeating: 0, count: TupleTagGroup.words)
    return _tuples.count - 1
  }

  /// Calls `body` with each entry of `tuple`'s table: its group, place and value (a head).
  private func _forEachEntry(of tuple: _Tuple, _ body: (_ group: Int, _ entry: Int, _ head: UInt32) -> Void) {
    _pool.withUnsafeBufferPointer { pool in
      let table = pool.baseAddress! + tuple.tableOffset
      for g in 0...tuple.groupMask {
        let group = TupleTagGroup.at(table, g)
        for i in 0..<TupleTagGroup.capacity where TupleTagGroup.tag(group, i) != 0 {
          body(g, i, TupleTagGroup.value(group, i))
        }
      }
    }
  }

  /// Doubles a tuple's table: a new region at the end of the pool, the old one becomes
  /// garbage. Each key is re-placed from its head rule's hash (entries keep no hash bits),
  /// so every listed slot's rule in `rules` must be the one linked — as `PolicySlotIndex`
  /// callers guarantee: a replacement unlinks the old rule before the slot is linked again.
  private mutating func _growTable(_ t: Int, rules: LineAlignedArray<PolicyRule>) {
    let old = _tuples[t]
    let groups = (old.groupMask + 1) * 2
    // A group index must fit the hash's low bits (the tag takes the top 7).
    precondition(groups <= 1 << 48, "TupleSpaceIndex: a tuple table beyond 2^48 groups")
    var grown = old
    grown.tableOffset = _pool.count
    grown.groupMask = groups - 1
    _pool.append(repeating: 0, count: groups * TupleTagGroup.words)
    var moved: [(hash: UInt64, head: UInt32)] = []
    moved.reserveCapacity(old.keys)
    _forEachEntry(of: old) { _, _, head in moved.append((_hash(of: rules[Int(head)], in: old), head)) }
    _pool.withUnsafeMutableBufferPointer { pool in
      let table = pool.baseAddress! + grown.tableOffset
      for (hash, head) in moved { TupleTagGroup.insert(table, groupMask: grown.groupMask, hash: hash, value: head) }
      // The old region is garbage: cleared, so that nothing reads it as entries.
      (pool.baseAddress! + old.tableOffset).update(repeating: 0, count: (old.groupMask + 1) * TupleTagGroup.words)
    }
    _tuples[t] = grown
    _poolGarbage += (old.groupMask + 1) * TupleTagGroup.words
    if _poolGarbage * 4 > _pool.count { _compactPool() }
  }

  /// Copies every live table into a fresh pool, dropping the holes.
  private mutating func _compactPool() {
    var pool = LineAlignedArray<UInt64>()
    pool.reserveCapacity(_pool.count - _poolGarbage)
    for t in _tuples.indices {
      let offset = pool.count
      let words = (_tuples[t].groupMask + 1) * TupleTagGroup.words
      pool.append(contentsOf: _pool[_tuples[t].tableOffset..<(_tuples[t].tableOffset + words)])
      _tuples[t].tableOffset = offset
    }
    _pool = pool
    _poolGarbage = 0
  }

  private mutating func _recomputeBestRank(_ t: Int, rules: LineAlignedArray<PolicyRule>) {
    var best = UInt64.max
    _forEachEntry(of: _tuples[t]) { _, _, head in best = min(best, rules[Int(head)].rank) }
    _tuples[t].bestRank = best
  }

  private mutating func _removeTuple(_ t: Int) {
    _poolGarbage += (_tuples[t].groupMask + 1) * TupleTagGroup.words
    _tuples.remove(at: t)
    if _poolGarbage * 4 > _pool.count { _compactPool() }
  }

  /// Re-sorts the tuples into walk order: by context, then best rank. (Tuple ids held by a
  /// caller are positions, so they are stale afterwards.)
  private mutating func _rebuildOrder() {
    _tuples.sort { ($0.context, $0.bestRank) < ($1.context, $1.bestRank) }
    var start = 0
    for context in 0...PolicyRule.contextCount {
      while start < _tuples.count && Int(_tuples[start].context) < context { start += 1 }
      _orderStart[context] = Int32(start)
    }
  }

  // MARK: Reporting

  public var memoryFootprint: Int {
    _tuples.capacity * MemoryLayout<_Tuple>.stride + _pool.capacity * 8 + _next.capacity * MemoryLayout<_Link>.stride
      + _orderStart.capacity * 4
  }

  public var statistics: [LookupStatistics.Counter] {
    [LookupStatistics.Counter("tuples", _tuples.count),
     LookupStatistics.Counter("hash entries", _tuples.reduce(0) { $0 + $1.keys }),
     LookupStatistics.Counter("longest list", _longestList()),
     LookupStatistics.Counter("overflowed groups", _overflowedGroups())]
  }

  /// Table groups whose overflow count is not zero (probes that may read a second group).
  private func _overflowedGroups() -> Int {
    _pool.withUnsafeBufferPointer { pool in
      _tuples.reduce(0) { sum, tuple in
        sum + (0...tuple.groupMask).count {
          TupleTagGroup.overflow(TupleTagGroup.at(pool.baseAddress! + tuple.tableOffset, $0)) != 0
        }
      }
    }
  }

  private func _longestList() -> Int {
    var longest = 0
    for tuple in _tuples {
      _forEachEntry(of: tuple) { _, _, head in
        var length = 0
        var slot = head
        while slot != Self.endOfList {
          length += 1
          slot = _next[Int(slot)].next
        }
        longest = max(longest, length)
      }
    }
    return longest
  }

  public func checkInvariants(rules: LineAlignedArray<PolicyRule>, liveSlots: [UInt32]) {
    var seen = Set<UInt32>()
    for (t, tuple) in _tuples.enumerated() {
      precondition(tuple.rules > 0, "empty tuple \(t) kept")
      var rulesInTuple = 0, keys = 0
      var best = UInt64.max
      // Per group, the keys whose probe passes it (home before it, entry after it).
      var passages = [Int](repeating: 0, count: tuple.groupMask + 1)
      _forEachEntry(of: tuple) { g, entry, head in
        keys += 1
        let hash = _hash(of: rules[Int(head)], in: tuple)
        let group = _pool.withUnsafeBufferPointer { TupleTagGroup.at($0.baseAddress! + tuple.tableOffset, g) }
        precondition(TupleTagGroup.tag(group, entry) == TupleTagGroup.tag(hash), "entry's tag differs from the head's hash")
        // The probe itself finds this entry first: reachable, and no other entry for the key
        // before it (`isKey` compares masked keys, as lookups do).
        let headRule = rules[Int(head)]
        let found = _pool.withUnsafeBufferPointer { pool in
          TupleTagGroup.find(pool.baseAddress! + tuple.tableOffset, groupMask: tuple.groupMask, hash: hash) {
            rules[Int($0)].sourceBits & tuple.sourceMask == headRule.sourceBits & tuple.sourceMask
              && rules[Int($0)].destinationBits & tuple.destinationMask == headRule.destinationBits & tuple.destinationMask
          }
        }
        precondition(found.map { $0.group == g && $0.entry == entry } == true, "the probe for an entry's key finds another entry or none")
        var j = TupleTagGroup.home(hash, groupMask: tuple.groupMask)
        while j != g {
          passages[j] += 1
          j = (j + 1) & tuple.groupMask
        }
        var slot = head
        var previousRank: UInt64? = nil
        while slot != Self.endOfList {
          let rule = rules[Int(slot)]
          precondition(seen.insert(slot).inserted, "slot \(slot) listed twice")
          // A rule sits in a tuple whose lengths do not exceed its own (every flow it matches
          // then has its masked key); with `.thresholds`, exactly the thresholds' tuple.
          let fits: Bool
          if case .grid = classing {
            fits = tuple.sourceClass <= rule.sourceLength && tuple.destinationClass <= rule.destinationLength
          } else {
            fits = classes(of: rule) == (tuple.sourceClass, tuple.destinationClass)
          }
          precondition(rule.context == tuple.context && fits, "rule in the wrong tuple")
          precondition(_next[Int(slot)].placement == tuple.placement,
                       "slot's recorded placement differs from its tuple")
          precondition(rule.sourceBits & tuple.sourceMask == rules[Int(head)].sourceBits & tuple.sourceMask
                       && rule.destinationBits & tuple.destinationMask == rules[Int(head)].destinationBits & tuple.destinationMask,
                       "rule in the wrong list")
          if let previousRank { precondition(previousRank < rule.rank, "list not in rank order") }
          previousRank = rule.rank
          best = min(best, rule.rank)
          rulesInTuple += 1
          slot = _next[Int(slot)].next
        }
      }
      // Every entry is reachable from its home: each group its probe passes counts it (exactly,
      // unless the count saturated: then it stays at its maximum); bytes 12-14 stay zero.
      _pool.withUnsafeBufferPointer { pool in
        for g in 0...tuple.groupMask {
          let group = TupleTagGroup.at(pool.baseAddress! + tuple.tableOffset, g)
          let count = Int(TupleTagGroup.overflow(group))
          let byte = group.load(fromByteOffset: TupleTagGroup.overflowOffset, as: UInt8.self)
          precondition(byte == 0 || (byte & 0x80 != 0 && byte & 0x7F != 0), "group \(g)'s overflow byte is malformed")
          precondition(count == passages[g] || count == TupleTagGroup.saturatedOverflow,
                       "group \(g)'s overflow count \(count) differs from the \(passages[g]) keys passing it")
          precondition((TupleTagGroup.capacity..<TupleTagGroup.overflowOffset).allSatisfy { TupleTagGroup.tag(group, $0) == 0 },
                       "group \(g)'s padding bytes are not zero")
        }
      }
      precondition(rulesInTuple == tuple.rules && keys == tuple.keys, "tuple counters wrong")
      precondition(best == tuple.bestRank, "tuple best rank stale")
      precondition(keys * 2 <= tuple.capacity, "tuple table over half full")
      precondition(tuple.tableOffset % TupleTagGroup.words == 0, "tuple table not on a group boundary")
      precondition(tuple.maskIPv4 == Self._wordIPv4(source: UInt64(truncatingIfNeeded: tuple.sourceMask &>> 64),
                                                     destination: UInt64(truncatingIfNeeded: tuple.destinationMask &>> 64)),
                   "tuple's IPv4 mask word differs from its masks")
    }
    precondition(seen == Set(liveSlots), "indexed slots differ from live slots")
    precondition(Int(_orderStart[PolicyRule.contextCount]) == _tuples.count, "tuples outside every context's range")
    for context in 0..<PolicyRule.contextCount {
      let walk = _tuples[Int(_orderStart[context])..<Int(_orderStart[context + 1])]
      for (a, b) in zip(walk, walk.dropFirst()) {
        precondition(a.bestRank <= b.bestRank, "tuple order not by best rank")
      }
      precondition(walk.allSatisfy { Int($0.context) == context }, "tuple under the wrong context")
    }
  }
}
