/// What a pool entry of a `RadixForest` is.
@usableFromInline
enum RadixNodeKind: UInt8, Sendable, BitwiseCopyable {
  /// On the free list (`child0` links to the next free node).
  case free
  /// A node of a destination trie; `payload` is the root of its source trie, or the slot of
  /// its only policy (`RadixNode.holdsSlotDirectly`).
  case destination
  /// A node of a source trie; `payload` is the start of its slot list.
  case source
}

/// One node of a path-compressed binary trie, destination or source level, as plain data in
/// a pool (32 bytes for IPv4 keys, 48 for IPv6).
///
/// `prefix` holds the node's `length` leading bits, the rest zero. Children extend it: the
/// child on side `b` has a longer prefix whose bit number `length` (0 = most significant) is
/// `b`. A node exists because it carries something (`payload`) or because two subtrees
/// diverge below it (a branch node, two children); nothing else stays in a trie.
@usableFromInline
struct RadixNode<Bits: FixedWidthInteger & UnsignedInteger & Sendable & BitwiseCopyable>: Sendable, BitwiseCopyable {
  @usableFromInline var prefix: Bits
  @usableFromInline var child0: UInt32
  @usableFromInline var child1: UInt32
  /// Destination node: its source trie's root, or — when that trie would be one node with
  /// one slot — the slot itself (`listClass` is then `RadixSlotLists.inlineClass`, see
  /// `holdsSlotDirectly`). Source node: the start of its slot list in `RadixSlotLists`, or
  /// the slot itself when the list has one (`listClass` is then
  /// `RadixSlotLists.inlineClass`). `RadixNode.none` when it carries nothing.
  @usableFromInline var payload: UInt32
  /// The lowest priority value of any slot in this node's subtree (for a destination node,
  /// including its source trie): a lower bound of their ranks, so a search whose best
  /// priority is already lower can skip the subtree.
  @usableFromInline var minPriority: UInt32
  /// The node linking to this one: its trie parent, or for a source trie's root the
  /// destination node holding it; `none` for a destination trie's root. Lets a removal
  /// start at the slot's node and walk up only as far as something changes.
  @usableFromInline var parent: UInt32
  @usableFromInline var length: UInt8
  /// Source node with a list: log2 of the list's capacity, or `RadixSlotLists.inlineClass`
  /// for a one-slot list kept in `payload`. Destination node: `RadixSlotLists.inlineClass`
  /// when `payload` is a slot, else 0.
  @usableFromInline var listClass: UInt8
  @usableFromInline var kind: RadixNodeKind
  /// Pads an IPv4 node to 32 bytes: two per cache line, none across two. At 28 bytes 7 of
  /// 16 nodes straddled a line boundary (callgrind, acl1_100k: L1 misses per lookup 15.8 →
  /// 13.0, radix misses per removal 5.9 → 5.4; +12 bytes per policy). IPv6 nodes stay 48.
  @usableFromInline var _padding: UInt32 = 0

  /// The "no node / no list" link.
  @usableFromInline static var none: UInt32 { .max }

  @inlinable
  init(kind: RadixNodeKind, prefix: Bits, length: Int) {
    self.prefix = prefix
    child0 = Self.none
    child1 = Self.none
    payload = Self.none
    minPriority = .max
    parent = Self.none
    self.length = UInt8(length)
    listClass = 0
    self.kind = kind
  }

  /// The child on side `bit`.
  @inlinable @inline(__always)
  func child(_ bit: Bool) -> UInt32 { bit ? child1 : child0 }

  @inlinable @inline(__always)
  mutating func setChild(_ bit: Bool, _ node: UInt32) {
    if bit { child1 = node } else { child0 = node }
  }

  /// A destination node whose only policy is kept in `payload` as its slot, instead of in a
  /// source trie of one node (the policy's source prefix is read from its rule). Most
  /// destination prefixes of the ClassBench 100k sets have one policy: this saves a node
  /// per policy and a dependent load per lookup and change.
  @inlinable @inline(__always)
  var holdsSlotDirectly: Bool { kind == .destination && listClass == RadixSlotLists.inlineClass }

  /// A node with one slot in its payload and no children: as a source trie's root, a trie
  /// of one policy, which its destination node holds directly instead.
  @inlinable
  var isLoneSlot: Bool { listClass == RadixSlotLists.inlineClass && child0 == Self.none && child1 == Self.none }

  /// Whether the node must stay: it carries a payload or joins two subtrees.
  @inlinable
  var isNeeded: Bool { payload != Self.none || (child0 != Self.none && child1 != Self.none) }
}
