/// The slot lists of a `RadixForest`'s source nodes: rank-ordered runs in one shared
/// `[UInt32]`, no per-list Swift array.
///
/// A list of one slot lives in its node: `start` is the slot itself and the class is
/// `inlineClass` (most lists at 100k ClassBench policies hold one slot, so a lookup or a
/// removal there reads no list word — one dependent cache miss less). A longer list lives in
/// a *range* of `1 << class` words starting at some offset: its slots in rank order (lower
/// first), then `RadixNode.none` padding. A full list moves to a range of the next class; a
/// list at a quarter of its range or less moves down (hysteresis), and a list left with one
/// slot moves back into its node. Freed ranges go on per-class free lists (linked through
/// their first word) and are reused; `RadixForest` compacts the storage when more than half
/// of it is free, so memory returns after removals.
///
/// Ranks are read through the caller's `rank(of:)`: the lists store slots only.
@usableFromInline
struct RadixSlotLists: Sendable {
  @usableFromInline var words: [UInt32] = []
  /// Heads of the free ranges, per class.
  @usableFromInline var freeHeads = [UInt32](repeating: RadixNode<UInt32>.none, count: 32)
  /// Words in live ranges (capacities, not slots).
  @usableFromInline var wordsInUse = 0

  @usableFromInline static var none: UInt32 { RadixNode<UInt32>.none }
  /// The class of a one-slot list kept in its node (`start` is the slot).
  @usableFromInline static var inlineClass: UInt8 { .max }

  init() {}

  /// The number of slots in the list at `start` of class `listClass`.
  func count(start: UInt32, listClass: UInt8) -> Int {
    if listClass == Self.inlineClass { return 1 }
    // Slots first, padding after: binary search for the first padding word.
    var low = 0, high = 1 << Int(listClass)
    let base = Int(start)
    while low < high {
      let mid = (low + high) / 2
      if words[base + mid] != Self.none { low = mid + 1 } else { high = mid }
    }
    return low
  }

  /// The first position in the list whose rank is not below `rank`.
  private func lowerBound(_ rank: UInt64, start: Int, count: Int, rankOf: (UInt32) -> UInt64) -> Int {
    var low = 0, high = count
    while low < high {
      let mid = (low + high) / 2
      if rankOf(words[start + mid]) < rank { low = mid + 1 } else { high = mid }
    }
    return low
  }

  /// Adds `slot` (of `rank`) to the list at `start` (`none` = empty), moving the list when it
  /// is full.
  mutating func insert(_ slot: UInt32, rank: UInt64, start: inout UInt32, listClass: inout UInt8,
                       rankOf: (UInt32) -> UInt64) {
    if start == Self.none {
      start = slot
      listClass = Self.inlineClass
      return
    }
    if listClass == Self.inlineClass {  // the second slot: out of the node, into two words
      let other = start
      let base = Int(allocate(listClass: 1))
      let first = rank < rankOf(other)
      words[base] = first ? slot : other
      words[base + 1] = first ? other : slot
      start = UInt32(base)
      listClass = 1
      return
    }
    let count = self.count(start: start, listClass: listClass)
    let base = Int(start)
    let position = lowerBound(rank, start: base, count: count, rankOf: rankOf)
    if count < 1 << Int(listClass) {
      var i = count
      while i > position {
        words[base + i] = words[base + i - 1]
        i -= 1
      }
      words[base + position] = slot
      return
    }
    let newClass = listClass + 1
    let newStart = Int(allocate(listClass: newClass))
    for i in 0..<position { words[newStart + i] = words[base + i] }
    words[newStart + position] = slot
    for i in position..<count { words[newStart + i + 1] = words[base + i] }
    release(start: start, listClass: listClass)
    start = UInt32(newStart)
    listClass = newClass
  }

  /// Removes `slot` (whose rank was `rank`) from the list at `start`; `start` becomes `none`
  /// when the list empties, and the remaining slot itself (class `inlineClass`) when one is
  /// left. Traps when the slot is not there.
  mutating func remove(_ slot: UInt32, rank: UInt64, start: inout UInt32, listClass: inout UInt8,
                       rankOf: (UInt32) -> UInt64) {
    precondition(start != Self.none, "RadixPolicyTree: slot list missing")
    if listClass == Self.inlineClass {
      precondition(start == slot, "RadixPolicyTree: slot not in its list")
      start = Self.none
      listClass = 0
      return
    }
    let count = self.count(start: start, listClass: listClass)
    let base = Int(start)
    let position = lowerBound(rank, start: base, count: count, rankOf: rankOf)
    precondition(position < count && words[base + position] == slot, "RadixPolicyTree: slot not in its list")
    let remaining = count - 1
    if remaining <= 1 {  // back into the node (or gone)
      let last = remaining == 0 ? Self.none : words[base + (position == 0 ? 1 : 0)]
      release(start: start, listClass: listClass)
      start = last
      listClass = remaining == 0 ? 0 : Self.inlineClass
      return
    }
    if listClass > 0 && remaining <= (1 << Int(listClass)) / 4 {
      // Move down to the smallest class with room to grow once more.
      var newClass: UInt8 = 0
      while 1 << Int(newClass) < remaining * 2 { newClass += 1 }
      let newStart = Int(allocate(listClass: newClass))
      var j = newStart
      for i in 0..<count where i != position {
        words[j] = words[base + i]
        j += 1
      }
      release(start: start, listClass: listClass)
      start = UInt32(newStart)
      listClass = newClass
      return
    }
    for i in position..<remaining { words[base + i] = words[base + i + 1] }
    words[base + remaining] = Self.none
  }

  /// A range of `1 << listClass` words filled with `none`.
  mutating func allocate(listClass: UInt8) -> UInt32 {
    let size = 1 << Int(listClass)
    wordsInUse += size
    let head = freeHeads[Int(listClass)]
    if head != Self.none {
      freeHeads[Int(listClass)] = words[Int(head)]
      for i in Int(head)..<Int(head) + size { words[i] = Self.none }
      return head
    }
    let start = words.count
    precondition(start + size < Int(UInt32.max), "RadixPolicyTree: slot list storage full")
    if start + size > words.capacity {
      words.reserveCapacity(Swift.max(start + size, words.capacity + words.capacity / 4 + 64))
    }
    words.append(contentsOf: repeatElement(Self.none, count: size))
    return UInt32(start)
  }

  /// Returns a range to its class's free list.
  mutating func release(start: UInt32, listClass: UInt8) {
    wordsInUse -= 1 << Int(listClass)
    words[Int(start)] = freeHeads[Int(listClass)]
    freeHeads[Int(listClass)] = start
  }

  /// The slots of the list at `start` of class `listClass`, padding included (for checks).
  func words(start: UInt32, listClass: UInt8) -> [UInt32] {
    if start == Self.none { return [] }
    if listClass == Self.inlineClass { return [start] }
    return Array(words[Int(start)..<Int(start) + 1 << Int(listClass)])
  }

  /// Words a list of class `listClass` takes in the shared storage.
  static func size(listClass: UInt8) -> Int { listClass == inlineClass ? 0 : 1 << Int(listClass) }

  /// Whether more than half of a sizeable storage is free.
  var wantsCompaction: Bool { words.count >= 1024 && wordsInUse * 2 < words.count }

  var memoryFootprint: Int { words.capacity * MemoryLayout<UInt32>.stride + freeHeads.count * 4 }
}
