import Testing
@testable import Lookup

@Suite("Storage and control-path hash sets")
struct StorageTests {
  /// Random inserts and removes agree with `Set`, with hashes drawn from a handful of values
  /// (long probe runs, wrap-around, equal stored bits), and every table invariant holds after
  /// each change — growth and backward-shift deletion read only the stored hash bits.
  @Test(arguments: [4, 1 << 20])
  func slotHashSetAgreesWithSet(distinctHashes: Int) {
    var generator = SplitMix64(seed: UInt64(distinctHashes))
    var set = SlotHashSet(seed: 7)
    var model: Set<UInt32> = []
    let hashes = (0..<distinctHashes).map { _ in generator.next() }
    func hash(_ slot: UInt32) -> UInt64 { hashes[Int(slot) % distinctHashes] }
    for _ in 0..<4000 {
      let slot = UInt32(generator.next() % 600)
      if model.contains(slot) {
        set.remove(slot, hash: hash(slot))
        model.remove(slot)
      } else {
        #expect(set.find(hash: hash(slot)) { $0 == slot } == nil)
        set.insert(slot, hash: hash(slot))
        model.insert(slot)
      }
      set.checkInvariants()
      let probe = UInt32(generator.next() % 600)
      #expect((set.find(hash: hash(probe)) { $0 == probe } != nil) == model.contains(probe))
    }
    #expect(Set(set.slots) == model && set.count == model.count)
  }

  /// A tuple table's tag groups against a dictionary: keys homed on a few groups of a small
  /// table (so groups fill, keys overflow, probes wrap around the end, and one group's
  /// overflow count saturates at 127), random inserts and removals, and after each change
  /// every key is found, no removed key is, and every overflow count equals the keys whose
  /// probe passes its group (or has saturated).
  @Test func tagGroupsAgreeWithADictionary() {
    var generator = SplitMix64(seed: 12)
    let groups = 64, groupMask = groups - 1
    var table = [UInt64](repeating: 0, count: groups * TupleTagGroup.words + TupleTagGroup.words)
    var model: [UInt32: UInt64] = [:]  // value -> hash
    // Homes: mostly groups 0 and 63 (wrap-around), tags from few values (collisions).
    func hash(_ value: UInt32) -> UInt64 {
      let home: UInt64 = value % 3 == 0 ? 0 : value % 3 == 1 ? 63 : UInt64(value) % 64
      return UInt64(value % 5) << 57 | UInt64(value) << 8 | home
    }
    // The real probe, as lookups and updates use it.
    func find(_ value: UInt32, _ table: UnsafePointer<UInt64>) -> (group: Int, entry: Int, value: UInt32)? {
      TupleTagGroup.find(table, groupMask: groupMask, hash: hash(value)) { $0 == value }
    }
    var sawSaturation = false
    for step in 0..<3000 {
      // The table's 16-byte loads need an aligned base: round up to a line inside the array.
      table.withUnsafeMutableBufferPointer { words in
        let base = UnsafeMutablePointer<UInt64>(bitPattern: (UInt(bitPattern: words.baseAddress!) + 63) & ~63)!
        let value = UInt32(generator.next() % 700) + 1
        // Removals at a third of the rate of inserts: about 3/4 of the 700 values are in the
        // table (~68 % of its 768 entries), and the groups keys are homed on overflow by
        // hundreds.
        if let h = model[value], generator.next() % 3 == 0 {
          guard let located = find(value, UnsafePointer(base)) else {
            Issue.record("step \(step): the probe does not find \(value)")
            return
          }
          TupleTagGroup.remove(base, groupMask: groupMask, hash: h, group: located.group, entry: located.entry)
          model[value] = nil
        } else if model[value] == nil && model.count < groups * TupleTagGroup.capacity - 1 {
          TupleTagGroup.insert(base, groupMask: groupMask, hash: hash(value), value: value)
          model[value] = hash(value)
        }
        // Overflow counts: exact, or saturated.
        var passages = [Int](repeating: 0, count: groups)
        for g in 0..<groups {
          let group = TupleTagGroup.at(UnsafePointer(base), g)
          for i in 0..<TupleTagGroup.capacity where TupleTagGroup.tag(group, i) != 0 {
            let h = model[TupleTagGroup.value(group, i)]!
            #expect(TupleTagGroup.tag(group, i) == TupleTagGroup.tag(h))
            var j = TupleTagGroup.home(h, groupMask: groupMask)
            while j != g {
              passages[j] += 1
              j = (j + 1) & groupMask
            }
          }
        }
        for g in 0..<groups {
          let count = Int(TupleTagGroup.overflow(TupleTagGroup.at(UnsafePointer(base), g)))
          #expect(count == passages[g] || count == TupleTagGroup.saturatedOverflow, "step \(step), group \(g): \(count) vs \(passages[g])")
          if count == TupleTagGroup.saturatedOverflow { sawSaturation = true }
        }
        if step % 50 == 0 {
          for value in UInt32(1)...700 { #expect((find(value, UnsafePointer(base)) != nil) == (model[value] != nil)) }
        }
      }
    }
    #expect(sawSaturation, "no overflow count saturated: the test misses that case")
  }

  /// Deletions can leave every group's overflow flag set with room everywhere; a probe for
  /// an absent key must still end (after reading every group once).
  @Test func probeEndsWhenEveryGroupOverflowed() {
    let groups = 4, groupMask = groups - 1
    var table = [UInt64](repeating: 0, count: (groups + 1) * TupleTagGroup.words)
    table.withUnsafeMutableBufferPointer { words in
      let base = UnsafeMutablePointer<UInt64>(bitPattern: (UInt(bitPattern: words.baseAddress!) + 63) & ~63)!
      // For each group g: 12 keys homed on g fill it, a 13th homed on g overflows into g + 1;
      // then the 12 are removed. Every group ends with an overflow count of 1.
      var next: UInt32 = 1
      for g in 0..<groups {
        var filling: [(UInt32, UInt64)] = []
        for _ in 0..<TupleTagGroup.capacity + 1 {
          let hash = UInt64(next) << 57 | UInt64(next) << 8 | UInt64(g)
          TupleTagGroup.insert(base, groupMask: groupMask, hash: hash, value: next)
          filling.append((next, hash))
          next += 1
        }
        for (value, hash) in filling.prefix(TupleTagGroup.capacity) {
          guard let found = TupleTagGroup.find(UnsafePointer(base), groupMask: groupMask, hash: hash, isKey: { $0 == value })
          else { Issue.record("key \(value) not found"); continue }
          TupleTagGroup.remove(base, groupMask: groupMask, hash: hash, group: found.group, entry: found.entry)
        }
      }
      for g in 0..<groups {
        #expect(TupleTagGroup.overflow(TupleTagGroup.at(UnsafePointer(base), g)) == 1, "group \(g)")
      }
      // An absent key: every group's flag says "go on"; the probe stops after four groups.
      #expect(TupleTagGroup.find(UnsafePointer(base), groupMask: groupMask, hash: 0x55 << 57 | 2, isKey: { _ in true }) == nil)
    }
  }

  /// The registry's index set stores a permutation of the policy index as its hash bits, so
  /// a find needs no record read to confirm the slot: distinct indexes must give distinct
  /// bits (kernel-style indexes, 8 apart, and random ones), and the home buckets must spread.
  @Test func indexHashIsAPermutationThatSpreads() {
    var generator = SplitMix64(seed: 5)
    for seed: UInt64 in [0, 0x9E37_79B9_7F4A_7C15, generator.next()] {
      var stored = Set<UInt64>(), buckets = Set<UInt64>()
      for i in 0..<(1 << 18) {
        let index = UInt32(i) &* 8 &+ 1
        let bits = PolicyRegistry.indexHash(index, seed: seed)
        stored.insert(bits)
        buckets.insert(bits >> 32 & (1 << 19 - 1))
      }
      let random = (0..<(1 << 18)).map { _ in UInt32(truncatingIfNeeded: generator.next()) }
      for index in Set(random) { stored.insert(PolicyRegistry.indexHash(index, seed: seed)) }
      #expect(stored.count == (1 << 18) + Set(random).subtracting((0..<(1 << 18)).map { UInt32($0) &* 8 &+ 1 }).count)
      // 2^18 keys in 2^19 buckets: about 2^19 · (1 − e^(−1/2)) ≈ 206,000 distinct homes.
      #expect(buckets.count > 195_000, "indexes 8 apart crowd \(buckets.count) buckets")
    }
  }

  /// The bulk forms agree with `Array` and copy on write: `append(repeating:count:)`,
  /// `append(contentsOf:)` (including a slice of the array itself), the uninitialised-count
  /// initialiser, and a write through `withUnsafeMutableBufferPointer` on a shared copy.
  @Test func lineAlignedArrayBulkFormsAgreeWithArray() {
    var a = LineAlignedArray<UInt64>(), model: [UInt64] = []
    for round in 0..<50 {
      a.append(repeating: UInt64(round), count: round % 7)
      model.append(contentsOf: repeatElement(UInt64(round), count: round % 7))
      let tail = Array(a.suffix(3))
      a.append(contentsOf: a.suffix(3))  // a slice of itself: the storage is shared while appending
      model.append(contentsOf: tail)
      a.append(contentsOf: (0..<UInt64(round % 5)).map { $0 &* 31 })
      model.append(contentsOf: (0..<UInt64(round % 5)).map { $0 &* 31 })
    }
    #expect(Array(a) == model)
    let copy = a
    a.withUnsafeMutableBufferPointer { $0[0] = 99 }
    #expect(copy[0] == model[0] && a[0] == 99 && Array(copy) == model)
    let built = LineAlignedArray<UInt32>(unsafeUninitializedCount: 1000) { p in
      for i in 0..<1000 { (p + i).initialize(to: UInt32(i * 3)) }
    }
    #expect(Array(built) == (0..<1000).map { UInt32($0 * 3) })
    built.withUnsafeBufferPointer { #expect(UInt(bitPattern: $0.baseAddress) % 64 == 0) }
  }

  /// The SPD's rule records start on a cache line, so each 64-byte rule is exactly one line.
  @Test func lineAlignedArrayStartsOnALineAndCopiesOnWrite() {
    var a = LineAlignedArray<PolicyRuleExtras>()
    let policy = Policy(selector: selector("10.0.0.0/8", "0.0.0.0/0"), priority: 1, direction: .out)
    for i in 0..<1000 {
      var extras = PolicyRuleExtras(policy)
      extras.markValue = UInt32(i)
      extras.index = UInt32(i * 8 + 1)
      a.append(extras)
    }
    a.withUnsafeBufferPointer { #expect(UInt(bitPattern: $0.baseAddress) % 64 == 0) }
    let copy = a
    a[3].index = 0
    #expect(copy[3].index == 25 && a[3].index == 0 && copy.count == 1000 && a.count == 1000)
    #expect(Array(copy.map(\.markValue)) == (0..<1000).map(UInt32.init))
  }
}
