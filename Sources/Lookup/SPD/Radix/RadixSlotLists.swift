/// The slot lists of a `RadixForest`'s source nodes: rank-ordered runs in one shared
/// `[UInt32]`, no per-list Swift array.
///
/// A list lives in a *range* of `1 << class` words starting at some offset: its slots in
/// rank order (lower first), then `RadixNode.none` padding. A list of one slot costs one
/// word. A full list moves to a range of the next class; a list at a quarter of its range or
/// less moves down (hysteresis). Freed ranges go on per-class free lists (linked through
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

  init() {}

  /// The number of slots in the list at `start` of class `listClass`.
  func count(start: UInt32, listClass: UInt8) -> Int {
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
      start = allocate(listClass: 0)
      listClass = 0
      words[Int(start)] = slot
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
  /// when the list empties. Traps when the slot is not there.
  mutating func remove(_ slot: UInt32, rank: UInt64, start: inout UInt32, listClass: inout UInt8,
                       rankOf: (UInt32) -> UInt64) {
    precondition(start != Self.none, "RadixPolicyTree: slot list missing")
    let count = self.count(start: start, listClass: listClass)
    let base = Int(start)
    let position = lowerBound(rank, start: base, count: count, rankOf: rankOf)
    precondition(position < count && words[base + position] == slot, "RadixPolicyTree: slot not in its list")
    let remaining = count - 1
    if remaining == 0 {
      release(start: start, listClass: listClass)
      start = Self.none
      listClass = 0
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

  /// Whether more than half of a sizeable storage is free.
  var wantsCompaction: Bool { words.count >= 1024 && wordsInUse * 2 < words.count }

  var memoryFootprint: Int { words.capacity * MemoryLayout<UInt32>.stride + freeHeads.count * 4 }
}
