import Testing
import Lookup

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

  /// The SPD's rule records start on a cache line, so each 64-byte rule is exactly one line.
  @Test func lineAlignedArrayStartsOnALineAndCopiesOnWrite() {
    var a = LineAlignedArray<PolicyRuleExtras>()
    let policy = Policy(selector: selector("10.0.0.0/8", "0.0.0.0/0"), priority: 1, direction: .out)
    for i in 0..<1000 {
      var extras = PolicyRuleExtras(policy, position: UInt64(i))
      extras.index = UInt32(i * 8 + 1)
      a.append(extras)
    }
    a.withUnsafeBufferPointer { #expect(UInt(bitPattern: $0.baseAddress) % 64 == 0) }
    let copy = a
    a[3].index = 0
    #expect(copy[3].index == 25 && a[3].index == 0 && copy.count == 1000 && a.count == 1000)
    #expect(Array(copy.map(\.position)) == (0..<1000).map(UInt64.init))
  }
}
