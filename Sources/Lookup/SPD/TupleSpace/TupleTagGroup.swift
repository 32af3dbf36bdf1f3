// TupleTagGroup — the storage unit of a tuple's hash table: one 64-byte cache line holding up
// to 12 entries, found by comparing one tag byte per entry all at once.
//
// Idea
//   Open addressing over groups instead of single entries, as SwissTable and folly's F14 do.
//   A key's hash picks its home group (low bits) and a 7-bit tag (top bits, with the high bit
//   set so that a tag is never 0, the empty byte). A probe compares the key's tag with the
//   group's 12 tag bytes in one SSE2 compare (`lookup_tag_group_probe`), giving a bit mask of
//   candidate entries: a miss is one test of a zero mask, a hit usually one candidate, checked
//   against its list's head rule. A group that filled up counts the keys that had to move on
//   to a later group (its *overflow* count, as in F14); a probe continues past a group only
//   when that count is not zero (and never past the last group it has not read), so with
//   tables at most half full a probe usually reads one line (about 1 % of groups overflow
//   at half load, fewer after a doubling).
//
//   The linear-probing table it replaced (8-byte entries, a 32-bit fingerprint each) took a
//   data-dependent branch per entry of a probe run — empty? fingerprint? — and with tables up
//   to half full the runs were long: valgrind's branch model counted 1.8 mispredicted
//   branches per acl1_10k lookup and 4.7 per ipc1_10k lookup in the probes alone.
//
// Layout (bytes)
//   0–11   tags of entries 0–11 (0: empty; 0x80 | the hash's top 7 bits: full)
//   12–14  zero
//   15     overflow: 0, or 0x80 | the count of keys whose probe passed this group full
//          (1–127; the count saturates at 127, and a saturated count is never decremented
//          until the table grows and re-places its keys: it costs probes, never answers).
//          The high bit is what a probe tests.
//   16–63  the 12 entries' values (UInt32 each: the head slot of a list)
//
// Entries in a group are unordered; deleting one clears its tag (no tombstones) and
// decrements the overflow counts of the groups between its home and its group.
//
// Memory: 64 bytes per 12 entries; tables are kept at most half full and double, so 10.7–21
// bytes per key (the linear table took 16–32).

import CLookupSupport

/// Reading and writing one 64-byte tag group (see the file comment). The group's address
/// comes from a tuple table's line-aligned word pool: 8 words per group.
@usableFromInline
enum TupleTagGroup {
  /// Entries per group.
  @usableFromInline static let capacity = 12
  /// 64-bit words per group.
  @usableFromInline static let words = 8
  @usableFromInline static let overflowOffset = 15
  @usableFromInline static let valuesOffset = 16

  /// The tag of a key whose hash is `hash`: its top 7 bits, with the high bit set.
  @inlinable @inline(__always)
  static func tag(_ hash: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: hash &>> 57) | 0x80 }

  /// The home group of a key whose hash is `hash`, in a table of `groupMask + 1` groups.
  @inlinable @inline(__always)
  static func home(_ hash: UInt64, groupMask: Int) -> Int { Int(truncatingIfNeeded: hash) & groupMask }

  /// Group `group` of the table whose first word is `table`.
  @inlinable @inline(__always)
  static func at(_ table: UnsafePointer<UInt64>, _ group: Int) -> UnsafeRawPointer {
    UnsafeRawPointer(table + group &* words)
  }

  @inlinable @inline(__always)
  static func at(_ table: UnsafeMutablePointer<UInt64>, _ group: Int) -> UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(table + group &* words)
  }

  /// A probe of `group` for `tag`: bit i set when entry i's tag is `tag` (`tag` 0: the empty
  /// entries), and `overflowBit` set when the group's overflow count is not zero.
  @inlinable @inline(__always)
  static func probe(_ group: UnsafeRawPointer, _ tag: UInt8) -> UInt32 {
    UInt32(lookup_tag_group_probe(group, tag))
  }

  /// The entries bits of a probe.
  @usableFromInline static let entryBits: UInt32 = 0xFFF
  /// The probe's bit for "keys went on past this group".
  @usableFromInline static let overflowBit: UInt32 = 0x8000
  /// The largest overflow count; a count that reached it stays.
  static let saturatedOverflow = 127

  /// Entry `i`'s value.
  @inlinable @inline(__always)
  static func value(_ group: UnsafeRawPointer, _ i: Int) -> UInt32 {
    group.load(fromByteOffset: valuesOffset &+ i &* 4, as: UInt32.self)
  }

  /// The group's overflow count (see the file comment).
  @inlinable @inline(__always)
  static func overflow(_ group: UnsafeRawPointer) -> Int {
    Int(group.load(fromByteOffset: overflowOffset, as: UInt8.self) & 0x7F)
  }

  @inlinable @inline(__always)
  static func tag(_ group: UnsafeRawPointer, _ i: Int) -> UInt8 { group.load(fromByteOffset: i, as: UInt8.self) }

  static func setValue(_ group: UnsafeMutableRawPointer, _ i: Int, _ value: UInt32) {
    group.storeBytes(of: value, toByteOffset: valuesOffset + i * 4, as: UInt32.self)
  }

  static func setTag(_ group: UnsafeMutableRawPointer, _ i: Int, _ tag: UInt8) {
    group.storeBytes(of: tag, toByteOffset: i, as: UInt8.self)
  }

  static func setOverflow(_ group: UnsafeMutableRawPointer, _ count: Int) {
    group.storeBytes(of: count == 0 ? 0 : 0x80 | UInt8(count), toByteOffset: overflowOffset, as: UInt8.self)
  }

  /// The entry for a key whose hash is `hash` in the table `table` of `groupMask + 1` groups:
  /// the first entry from the key's home group on whose tag is the key's and whose value
  /// `isKey` accepts (the caller checks the value's key), or nil once a group without
  /// overflow has none — or once every group was read: deletions can leave every group's
  /// overflow flag set (each group once passed by a key that is gone from the group it
  /// passed), so the flags alone do not end every probe. Returns the group, the entry's
  /// place in it and its value.
  @inlinable @inline(__always)
  static func find(_ table: UnsafePointer<UInt64>, groupMask: Int, hash: UInt64,
                   isKey: (UInt32) -> Bool) -> (group: Int, entry: Int, value: UInt32)? {
    let tag = tag(hash)
    var g = home(hash, groupMask: groupMask)
    var groupsLeft = groupMask  // after this one
    while true {
      let group = at(table, g)
      let probe = probe(group, tag)
      if probe == 0 { return nil }  // the usual miss: no candidate, no overflow
      var candidates = probe & entryBits
      while candidates != 0 {
        let entry = candidates.trailingZeroBitCount
        let value = value(group, entry)
        if isKey(value) { return (g, entry, value) }
        candidates &= candidates &- 1
      }
      if probe < overflowBit || groupsLeft == 0 { return nil }
      groupsLeft &-= 1
      g = (g &+ 1) & groupMask
    }
  }

  /// Stores a new key's entry in the table `table` of `groupMask + 1` groups: in the first
  /// group from its home with an empty entry, counting an overflow in every full group passed.
  /// The table must have an empty entry (tables are kept at most half full).
  static func insert(_ table: UnsafeMutablePointer<UInt64>, groupMask: Int, hash: UInt64, value: UInt32) {
    var g = home(hash, groupMask: groupMask)
    while true {
      let group = at(table, g)
      let empty = probe(UnsafeRawPointer(group), 0) & entryBits
      if empty != 0 {
        let i = empty.trailingZeroBitCount
        setTag(group, i, tag(hash))
        setValue(group, i, value)
        return
      }
      let count = overflow(UnsafeRawPointer(group))
      if count < saturatedOverflow { setOverflow(group, count + 1) }
      g = (g + 1) & groupMask
    }
  }

  /// Clears entry `i` of group `g`, the entry of a key whose hash is `hash`, and takes its
  /// passage off the overflow counts from its home group to `g`.
  static func remove(_ table: UnsafeMutablePointer<UInt64>, groupMask: Int, hash: UInt64, group g: Int, entry i: Int) {
    let group = at(table, g)
    setTag(group, i, 0)
    setValue(group, i, 0)
    var j = home(hash, groupMask: groupMask)
    while j != g {
      let passed = at(table, j)
      let count = overflow(UnsafeRawPointer(passed))
      precondition(count > 0, "TupleTagGroup.remove: an overflow count of 0 on the key's probe path")
      if count < saturatedOverflow { setOverflow(passed, count - 1) }
      j = (j + 1) & groupMask
    }
  }
}
