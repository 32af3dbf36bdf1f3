import CLookupSupport

/// The tries of one address family: per context byte, a destination trie whose nodes hold
/// source tries whose nodes hold rank-ordered slot lists. `RadixIndex` keeps one forest with
/// 32-bit keys (IPv4) and one with 128-bit keys (IPv6), so IPv4 nodes are 32 bytes.
///
/// All nodes of all tries live in one pool (`_nodes`, indexed by `UInt32`, freed nodes on a
/// free list); all slot lists in one `RadixSlotLists`. The forest is copied depth-first into
/// fresh storage (`_compact`) when more than half of either is free, when the pool has grown
/// by half since the last copy, or after changes for half its nodes: amortised O(1) per
/// change. When it empties, its storage is released.
@usableFromInline
struct RadixForest<Bits: FixedWidthInteger & UnsignedInteger & Sendable & BitwiseCopyable>: Sendable {
  @usableFromInline typealias Node = RadixNode<Bits>
  @usableFromInline typealias Key = RadixKey<Bits>

  /// The destination trie's root per context byte.
  @usableFromInline var _roots = [UInt32](repeating: RadixNode<Bits>.none, count: PolicyRule.contextCount)
  /// Line-aligned, on transparent huge pages from 2 MiB (100k IPv4 policies: ~8 MB of
  /// nodes, whose random reads and writes would otherwise also miss the TLB).
  @usableFromInline var _nodes = LineAlignedArray<RadixNode<Bits>>()
  @usableFromInline var _freeNode: UInt32 = RadixNode<Bits>.none
  @usableFromInline var _lists = RadixSlotLists()
  /// Per slot, the node holding it — the source node whose list holds it, or the destination
  /// node holding it directly (`none` for slots of the other family or not linked): a
  /// removal starts there instead of walking down from the root.
  @usableFromInline var _holders: [UInt32] = []
  @usableFromInline var destinationNodeCount = 0
  @usableFromInline var sourceNodeCount = 0
  /// Live nodes at the last depth-first layout, and links/unlinks since.
  var _laidOutNodes = 0
  var _changesSinceLayout = 0

  init() {}

  var liveNodeCount: Int { destinationNodeCount + sourceNodeCount }

  /// Pool capacities times strides (the fixed root table by its count: its capacity is
  /// whatever malloc rounded to).
  var memoryFootprint: Int {
    _roots.count * 4 + _nodes.capacity * MemoryLayout<RadixNode<Bits>>.stride + _lists.memoryFootprint
      + _holders.capacity * 4
  }

  // MARK: Search

  /// Lowers `best` to the best-ranked rule of `context` matching `key` (see `RadixIndex`).
  ///
  /// The walk down the destination trie only collects the nodes on the path that contain the
  /// address and have a payload (a source trie, or a policy held directly); those are then
  /// searched deepest first (and each source trie's lists likewise), because longer prefixes usually carry the better priorities:
  /// once a good match is found, the cached minimum priorities skip most of the rest.
  @inlinable @inline(__always)
  func search(_ key: FlowKey, context: UInt8, rules: PolicyRules,
              best: inout PolicyMatchCandidate) {
    let root = _roots[Int(context)]
    if root == Node.none { return }
    _nodes.withUnsafeBufferPointer { nodes in
      _lists.words.withUnsafeBufferPointer { lists in
        // Two stacks of at most W + 1 nodes (a path has one node per prefix length at most),
        // on the machine stack: each stays below the 1 KiB limit of stack temporaries.
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: Bits.bitWidth + 1) { destinationStack in
          withUnsafeTemporaryAllocation(of: UInt32.self, capacity: Bits.bitWidth + 1) { sourceStack in
            Self._search(root, key, nodes: nodes, lists: lists, rules: rules, destinationStack: destinationStack,
                         sourceStack: sourceStack, best: &best)
          }
        }
      }
    }
  }

  /// `search` on raw storage.
  @inlinable @inline(__always)
  static func _search(_ root: UInt32, _ key: FlowKey, nodes: UnsafeBufferPointer<RadixNode<Bits>>,
                      lists: UnsafeBufferPointer<UInt32>, rules: PolicyRules,
                      destinationStack: UnsafeMutableBufferPointer<UInt32>,
                      sourceStack: UnsafeMutableBufferPointer<UInt32>, best: inout PolicyMatchCandidate) {
    let destination = Key.bits(key.destination), source = Key.bits(key.source)
    let word = PolicyRule.selectorWord(of: key)  // once per lookup, not per candidate
    // The best priority so far, widened so "nothing found" (rank .max) prunes nothing.
    var bestPriority = best.rank &>> 32  // the priority part; "nothing found" (rank .max) prunes nothing
    var depth = 0
    var n = root
    repeat {
      let node = nodes[Int(n)]
      // Children extend the node's prefix: once the address leaves it, or nothing below can
      // beat the best, the walk is over.
      if UInt64(node.minPriority) > bestPriority || !Key.contains(node.prefix, node.length, destination) { break }
      // Branch-free: always store, keep it only when the node has a payload.
      destinationStack[depth] = n
      depth &+= node.payload != Node.none ? 1 : 0
      n = node.child(Key.bit(destination, Int(node.length) & (Bits.bitWidth - 1)))
    } while n != Node.none
    while depth > 0 {
      depth &-= 1
      let node = nodes[Int(destinationStack[depth])]  // in L1: read on the way down
      if UInt64(node.minPriority) > bestPriority { continue }
      if node.holdsSlotDirectly {
        // A source trie of one policy, kept as its slot: the rule's own source prefix decides.
        let slot = node.payload
        let rule = rules[slot]
        if rule.rank < best.rank && Key.contains(Key.bits(rule.sourceBits), rule.sourceLength, source)
            && rules.matchesBesidesAddresses(slot, key, word: word) {
          best = PolicyMatchCandidate(rank: rule.rank, slot: slot)
          bestPriority = UInt64(rule.priority)
        }
        continue
      }
      _searchSources(node.payload, key, source, word, nodes: nodes, lists: lists, rules: rules,
                     stack: sourceStack, best: &best, bestPriority: &bestPriority)
    }
  }

  /// The source-trie half of `search`: the nodes on the path of `source` that hold slots,
  /// deepest first, each list scanned in rank order.
  @inlinable @inline(__always)
  static func _searchSources(_ root: UInt32, _ key: FlowKey, _ source: Bits, _ word: UInt64,
                             nodes: UnsafeBufferPointer<RadixNode<Bits>>, lists: UnsafeBufferPointer<UInt32>,
                             rules: PolicyRules, stack: UnsafeMutableBufferPointer<UInt32>,
                             best: inout PolicyMatchCandidate, bestPriority: inout UInt64) {
    var depth = 0
    var n = root
    repeat {
      let node = nodes[Int(n)]
      if UInt64(node.minPriority) > bestPriority || !Key.contains(node.prefix, node.length, source) { break }
      stack[depth] = n
      depth &+= node.payload != Node.none ? 1 : 0
      n = node.child(Key.bit(source, Int(node.length) & (Bits.bitWidth - 1)))
    } while n != Node.none
    while depth > 0 {
      depth &-= 1
      let node = nodes[Int(stack[depth])]
      // The subtree minimum bounds the node's own list too (re-read: deeper lists may have
      // lowered the best meanwhile).
      if UInt64(node.minPriority) > bestPriority { continue }
      // A one-slot list is the node's payload itself (no list word to read).
      let inline = node.listClass == RadixSlotLists.inlineClass
      var i = Int(node.payload)
      let end = inline ? i &+ 1 : i &+ 1 &<< Int(node.listClass)
      var slot = inline ? node.payload : lists[i]
      while slot != Node.none {
        let rule = rules[slot]
        let rank = rule.rank
        // Rank order: nothing after this one can beat the best.
        if rank >= best.rank { break }
        if rules.matchesBesidesAddresses(slot, key, word: word) {
          best = PolicyMatchCandidate(rank: rank, slot: slot)
          bestPriority = UInt64(rule.priority)
          break
        }
        i &+= 1
        if i >= end { break }
        slot = lists[i]
      }
    }
  }

  // MARK: Changes

  /// What a change is about: one slot and its masked prefixes.
  struct Entry {
    var slot: UInt32
    var destination: Bits
    var destinationLength: Int
    var source: Bits
    var sourceLength: Int
    var priority: UInt32
    var rank: UInt64

    init(_ slot: UInt32, _ rule: PolicyRule) {
      self.slot = slot
      destinationLength = Int(rule.destinationLength)
      sourceLength = Int(rule.sourceLength)
      destination = Key.bits(rule.destinationBits) & Key.mask(destinationLength)
      source = Key.bits(rule.sourceBits) & Key.mask(sourceLength)
      priority = rule.priority
      rank = rule.rank
    }
  }

  mutating func link(_ slot: UInt32, rule: PolicyRule, rules: LineAlignedArray<PolicyRule>) {
    let entry = Entry(slot, rule)
    let context = Int(rule.context)
    _roots[context] = _insert(intoRoot: _roots[context], entry, rules)
    _changesSinceLayout += 1
    if _wantsLayout { _compact() }
  }

  mutating func unlink(_ slot: UInt32, rule: PolicyRule, rules: LineAlignedArray<PolicyRule>) {
    let entry = Entry(slot, rule)
    let context = Int(rule.context)
    _roots[context] = _remove(fromRoot: _roots[context], entry, rules)
    _changesSinceLayout += 1
    if liveNodeCount == 0 {
      self = RadixForest()  // release the storage
    } else if _wantsLayout || _lists.wantsCompaction || (_nodes.count >= 1024 && liveNodeCount * 2 < _nodes.count) {
      _compact()
    }
  }

  /// Whether a sizeable pool should be laid out depth-first again (`_compact`): it has grown
  /// by half since the last layout, or seen changes for half its nodes (new nodes sit
  /// wherever the pool had room). Like a hash table's growth, amortised O(1) per change:
  /// about 27 ns per node copied, so 8 ms at 100k policies, at most three copies per node
  /// over a build.
  private var _wantsLayout: Bool {
    liveNodeCount >= 4096 && (2 * liveNodeCount >= 3 * _laidOutNodes || 2 * _changesSinceLayout >= liveNodeCount)
  }

  /// The rank of a listed slot; `entry`'s slot has `entry.rank` (the registry may already
  /// hold its replacement).
  private static func _rank(_ slot: UInt32, _ entry: Entry, _ rules: LineAlignedArray<PolicyRule>) -> UInt64 {
    slot == entry.slot ? entry.rank : rules[Int(slot)].rank
  }

  /// Inserts `entry` into the destination trie rooted at `root`, creating and splitting
  /// nodes as needed, and returns the trie's new root.
  ///
  /// Iterative, like `_remove`: the walk goes down the destination trie to the node of the
  /// entry's destination prefix (creating it, or a branch above it, where the path leaves
  /// the trie), then down that node's source trie the same way, lowering each visited node's
  /// cached minimum on the way. Only the node a new node hangs from is re-linked.
  private mutating func _insert(intoRoot root: UInt32, _ entry: Entry, _ rules: LineAlignedArray<PolicyRule>) -> UInt32 {
    var newRoot = root
    var parent = Node.none, parentLink = 0  // 0 and 1: that child; 2: the source trie
    var n = root
    var source = false
    func link(_ child: UInt32) {
      if parent == Node.none {
        newRoot = child
      } else if parentLink == 2 {
        _nodes[Int(parent)].payload = child
      } else {
        _nodes[Int(parent)].setChild(parentLink == 1, child)
      }
      _nodes[Int(child)].parent = parent
    }
    while true {
      let key = source ? entry.source : entry.destination
      let length = source ? entry.sourceLength : entry.destinationLength
      // The node that will hold the entry (its list, or its source trie).
      let holder: UInt32
      if n == Node.none {
        holder = _newNode(source: source, prefix: key, length: length)
        _nodes[Int(holder)].minPriority = entry.priority
        link(holder)
      } else {
        let node = _nodes[Int(n)]
        let nodeLength = Int(node.length)
        let common = Swift.min((key ^ node.prefix).leadingZeroBitCount, nodeLength, length)
        if common == nodeLength {
          if entry.priority < node.minPriority { _nodes[Int(n)].minPriority = entry.priority }
          if length != nodeLength {
            let side = Key.bit(key, nodeLength)
            parent = n
            parentLink = side ? 1 : 0
            n = node.child(side)
            continue
          }
          holder = n
        } else if common == length {
          // The entry's prefix is a proper prefix of the node's: a new node above it.
          holder = _newNode(source: source, prefix: key, length: length)
          _nodes[Int(holder)].setChild(Key.bit(node.prefix, length), n)
          _nodes[Int(holder)].minPriority = Swift.min(node.minPriority, entry.priority)
          _nodes[Int(n)].parent = holder
          link(holder)
        } else {
          // They diverge: a branch at the common prefix joins the node and a new leaf.
          let branch = _newNode(source: source, prefix: key & Key.mask(common), length: common)
          holder = _newNode(source: source, prefix: key, length: length)
          let side = Key.bit(key, common)
          _nodes[Int(branch)].setChild(side, holder)
          _nodes[Int(branch)].setChild(!side, n)
          _nodes[Int(branch)].minPriority = Swift.min(node.minPriority, entry.priority)
          _nodes[Int(holder)].minPriority = entry.priority
          _nodes[Int(holder)].parent = branch
          _nodes[Int(n)].parent = branch
          link(branch)
        }
      }
      if source {
        var start = _nodes[Int(holder)].payload, listClass = _nodes[Int(holder)].listClass
        _lists.insert(entry.slot, rank: entry.rank, start: &start, listClass: &listClass) { Self._rank($0, entry, rules) }
        _nodes[Int(holder)].payload = start
        _nodes[Int(holder)].listClass = listClass
        _setHolder(entry.slot, holder)
        return newRoot
      }
      let destination = _nodes[Int(holder)]
      if destination.payload == Node.none {
        // The destination prefix's first policy: kept in the node, no source trie.
        _nodes[Int(holder)].payload = entry.slot
        _nodes[Int(holder)].listClass = RadixSlotLists.inlineClass
        _setHolder(entry.slot, holder)
        return newRoot
      }
      if destination.holdsSlotDirectly {
        // Its second: the first moves into a source trie of one node, the entry joins below.
        let other = destination.payload
        let otherRule = rules[Int(other)]
        let otherLength = Int(otherRule.sourceLength)
        let otherNode = _newNode(source: true, prefix: Key.bits(otherRule.sourceBits) & Key.mask(otherLength),
                                 length: otherLength)
        _nodes[Int(otherNode)].payload = other
        _nodes[Int(otherNode)].listClass = RadixSlotLists.inlineClass
        _nodes[Int(otherNode)].minPriority = otherRule.priority
        _nodes[Int(otherNode)].parent = holder
        _nodes[Int(holder)].payload = otherNode
        _nodes[Int(holder)].listClass = 0
        _holders[Int(other)] = otherNode
      }
      parent = holder
      parentLink = 2
      n = _nodes[Int(holder)].payload
      source = true
    }
  }

  /// Prefetches the node holding `slot` and its parent, the first two dependent loads of
  /// `unlink` (each a cache miss in a large forest), while the registry does its part of
  /// the removal.
  func prepareToUnlink(_ slot: UInt32) {
    guard Int(slot) < _holders.count else { return }
    let n = _holders[Int(slot)]
    guard Int(n) < _nodes.count else { return }  // also `none`
    _nodes.withUnsafeBufferPointer { nodes in
      lookup_prefetch(nodes.baseAddress! + Int(n))
      let parent = nodes[Int(n)].parent
      if Int(parent) < nodes.count { lookup_prefetch(nodes.baseAddress! + Int(parent)) }
    }
  }

  /// Records the node whose list (or direct payload) holds `slot`.
  private mutating func _setHolder(_ slot: UInt32, _ holder: UInt32) {
    if _holders.count <= Int(slot) {
      // Grown by a quarter, like the registry's per-slot arrays (slots arrive one by one);
      // reserved exactly, or `append` would double the capacity.
      let count = Swift.max(Int(slot) + 1, _holders.count + _holders.count / 4 + 16)
      _holders.reserveCapacity(count)
      _holders.append(contentsOf: repeatElement(Node.none, count: count - _holders.count))
    }
    _holders[Int(slot)] = holder
  }

  /// Removes `entry` from the destination trie rooted at `root` and returns the trie's new
  /// root. Nodes left empty with fewer than two children go (an empty node with one child is
  /// replaced by it).
  ///
  /// Starts at the source node holding the slot (`_holders`), takes the slot out of its list,
  /// then walks up the parent links re-linking each parent to what its child became and
  /// refreshing cached minima, and stops at the first ancestor whose link and minimum are
  /// unchanged — nothing above it can change either. No walk down: a removal touches the
  /// nodes it changes and one more. (Walking down from the root read ~25 nodes per removal
  /// at acl1_100k, each a dependent load.)
  private mutating func _remove(fromRoot root: UInt32, _ entry: Entry, _ rules: LineAlignedArray<PolicyRule>) -> UInt32 {
    let n = Int(entry.slot) < _holders.count ? _holders[Int(entry.slot)] : Node.none
    precondition(n != Node.none && Int(n) < _nodes.count, "RadixPolicyTree: slot \(entry.slot) not in the index")
    let bottom = _nodes[Int(n)]
    _holders[Int(entry.slot)] = Node.none
    if bottom.holdsSlotDirectly {
      precondition(bottom.payload == entry.slot && Int(bottom.length) == entry.destinationLength
                   && Key.contains(bottom.prefix, bottom.length, entry.destination),
                   "RadixPolicyTree: slot \(entry.slot) not in the index")
      _nodes[Int(n)].payload = Node.none
      _nodes[Int(n)].listClass = 0
    } else {
      precondition(bottom.kind == .source && Int(bottom.length) == entry.sourceLength
                   && Key.contains(bottom.prefix, bottom.length, entry.source),
                   "RadixPolicyTree: slot \(entry.slot) not in the index")
      var start = bottom.payload, listClass = bottom.listClass
      _lists.remove(entry.slot, rank: entry.rank, start: &start, listClass: &listClass) { Self._rank($0, entry, rules) }
      if start != bottom.payload || listClass != bottom.listClass {
        _nodes[Int(n)].payload = start
        _nodes[Int(n)].listClass = listClass
      }
    }
    // Up: what each node becomes, re-linked into its parent — the source trie's nodes,
    // then the destination trie's (the source root's parent is the destination node
    // holding it, through its payload).
    var child = n
    var parent = bottom.parent  // read before `_settle` may free the node
    var (replacement, changed) = _settle(n, entry, rules)
    while changed {
      if replacement != Node.none { _nodes[Int(replacement)].parent = parent }
      if parent == Node.none { return replacement }  // the destination root itself changed
      let node = _nodes[Int(parent)]
      if node.kind == .destination && !node.holdsSlotDirectly && node.payload == child {
        if replacement != node.payload { _nodes[Int(parent)].payload = replacement }
        _collapseIfSingle(replacement, into: parent)
      } else if node.child0 == child {
        if replacement != child { _nodes[Int(parent)].child0 = replacement }
      } else {
        if replacement != child { _nodes[Int(parent)].child1 = replacement }
      }
      child = parent
      parent = node.parent
      (replacement, changed) = _settle(child, entry, rules)
    }
    // The walk stopped at a kept node: if that is a source trie's root now left with one
    // slot and no children, the trie becomes its destination node's direct slot. (A trie
    // left with one slot is one node, and the walk settled it: either here, or it reached
    // the destination node through a change, and the link above collapsed it.)
    if parent != Node.none {
      let kept = _nodes[Int(replacement)]
      if kept.kind == .source && kept.isLoneSlot && _nodes[Int(parent)].kind == .destination {
        _collapseIfSingle(replacement, into: parent)
      }
    }
    return root
  }

  /// If `sourceRoot` (the root of `destination`'s source trie, or none) is one node holding
  /// one slot, makes that slot `destination`'s direct payload and frees the node. Neither
  /// node's cached minimum changes: the same policies remain below.
  private mutating func _collapseIfSingle(_ sourceRoot: UInt32, into destination: UInt32) {
    if sourceRoot == Node.none { return }
    let node = _nodes[Int(sourceRoot)]
    guard node.isLoneSlot else { return }
    let slot = node.payload
    _freeNode(sourceRoot)
    _nodes[Int(destination)].payload = slot
    _nodes[Int(destination)].listClass = RadixSlotLists.inlineClass
    _holders[Int(slot)] = destination
  }

  /// After `entry` left the subtree of `n`: refreshes `n`'s cached minimum if the entry may
  /// have been it, or frees `n` if it is no longer needed. Returns what takes `n`'s place
  /// (`n`, its only child, or none) and whether anything an ancestor sees changed.
  private mutating func _settle(_ n: UInt32, _ entry: Entry, _ rules: LineAlignedArray<PolicyRule>) -> (UInt32, Bool) {
    let node = _nodes[Int(n)]
    if node.isNeeded {
      // Only the removed slot left the subtree: a minimum below its priority still holds.
      if node.minPriority >= entry.priority {
        _refreshMinimum(n, entry, rules)
        return (n, _nodes[Int(n)].minPriority != node.minPriority)
      }
      return (n, false)
    }
    let replacement = node.child0 != Node.none ? node.child0 : node.child1
    _freeNode(n)
    return (replacement, true)
  }

  /// Recomputes a node's cached minimum priority from its payload and children.
  private mutating func _refreshMinimum(_ n: UInt32, _ entry: Entry, _ rules: LineAlignedArray<PolicyRule>) {
    let node = _nodes[Int(n)]
    var minimum = UInt32.max
    if node.payload != Node.none {
      if node.kind == .source || node.holdsSlotDirectly {
        let head = node.listClass == RadixSlotLists.inlineClass ? node.payload : _lists.words[Int(node.payload)]
        minimum = head == entry.slot ? entry.priority : rules[Int(head)].priority
      } else {
        minimum = _nodes[Int(node.payload)].minPriority
      }
    }
    if node.child0 != Node.none { minimum = Swift.min(minimum, _nodes[Int(node.child0)].minPriority) }
    if node.child1 != Node.none { minimum = Swift.min(minimum, _nodes[Int(node.child1)].minPriority) }
    if minimum != node.minPriority { _nodes[Int(n)].minPriority = minimum }
  }

  // MARK: Storage

  private mutating func _newNode(source: Bool, prefix: Bits, length: Int) -> UInt32 {
    let node = Node(kind: source ? .source : .destination, prefix: prefix, length: length)
    if source { sourceNodeCount += 1 } else { destinationNodeCount += 1 }
    if _freeNode != Node.none {
      let n = _freeNode
      _nodes.withUnsafeMutableBufferPointer { nodes in
        _freeNode = nodes[Int(n)].child0
        nodes[Int(n)] = node
        // The next allocation reads the next free node's link: a miss in a large pool when
        // removals freed nodes all over it. Start it now, one change ahead.
        if _freeNode != Node.none { lookup_prefetch(nodes.baseAddress! + Int(_freeNode)) }
      }
      return n
    }
    precondition(_nodes.count < Int(Node.none), "RadixPolicyTree: node pool full")
    if _nodes.count == _nodes.capacity {
      // Grow by an eighth, not the standard doubling: the pool is most of the index's
      // memory, and a growth is one copy of plain data (about 1 ms for 8 MB), rare next to
      // the changes that fill it.
      _nodes.reserveCapacity(_nodes.capacity + _nodes.capacity / 8 + 64)
    }
    _nodes.append(node)
    return UInt32(_nodes.count - 1)
  }

  private mutating func _freeNode(_ n: UInt32) {
    if _nodes[Int(n)].kind == .source { sourceNodeCount -= 1 } else { destinationNodeCount -= 1 }
    let next = _freeNode
    _nodes.withUnsafeMutableBufferPointer { nodes in
      nodes[Int(n)].kind = .free
      nodes[Int(n)].payload = Node.none
      nodes[Int(n)].child1 = Node.none
      nodes[Int(n)].child0 = next
    }
    _freeNode = n
  }

  /// Copies every trie depth-first into fresh, exactly sized storage: frees what removals
  /// left, and lays the destination tries out first (so a lookup's walk down one stays in a
  /// few cache lines), then each source trie in one piece, in destination order.
  ///
  /// Two passes with no recursion: the first walks the tries (an explicit stack, child 0
  /// before child 1) and numbers the live nodes in their new order; the second copies each
  /// node once, renaming its links through that numbering, and moves its slot list.
  private mutating func _compact() {
    let none = Node.none
    var order: [UInt32] = []
    order.reserveCapacity(liveNodeCount)
    var renamed = [UInt32](repeating: none, count: _nodes.count)
    var stack: [UInt32] = []
    _nodes.withUnsafeBufferPointer { old in
      renamed.withUnsafeMutableBufferPointer { renamed in
        for root in _roots { Self._number(root, old, renamed, &order, &stack) }
        for i in order.indices {  // the destination nodes: source tries follow in their order
          let node = old[Int(order[i])]
          if node.kind == .destination && node.payload != none && !node.holdsSlotDirectly {
            Self._number(node.payload, old, renamed, &order, &stack)
          }
        }
      }
    }
    // The new list storage is exactly the words in use, filled front to back in node order.
    var words = [UInt32](repeating: none, count: _lists.wordsInUse)
    let nodes = LineAlignedArray<Node>(unsafeUninitializedCount: order.count) { copies in
      _nodes.withUnsafeBufferPointer { old in
        renamed.withUnsafeBufferPointer { renamed in
          _lists.words.withUnsafeBufferPointer { oldWords in
            words.withUnsafeMutableBufferPointer { newWords in
              _holders.withUnsafeMutableBufferPointer { holders in
                Self._copyNodes(order, old: old, renamed: renamed, oldWords: oldWords, newWords: newWords,
                                holders: holders, into: copies)
              }
            }
          }
        }
      }
    }
    var lists = RadixSlotLists()
    lists.words = words
    lists.wordsInUse = words.count
    for context in _roots.indices where _roots[context] != none {
      _roots[context] = renamed[Int(_roots[context])]
    }
    _nodes = nodes
    _lists = lists
    _freeNode = none
    _laidOutNodes = liveNodeCount
    _changesSinceLayout = 0
  }

  /// The copy pass of `_compact`: each node of `order` into `copies` with its links renamed,
  /// each slot list moved to the next words of `newWords`, each listed slot's holder
  /// renamed. Raw buffers only: this runs once per live node on every compaction.
  private static func _copyNodes(_ order: [UInt32], old: UnsafeBufferPointer<Node>, renamed: UnsafeBufferPointer<UInt32>,
                                 oldWords: UnsafeBufferPointer<UInt32>, newWords: UnsafeMutableBufferPointer<UInt32>,
                                 holders: UnsafeMutableBufferPointer<UInt32>, into copies: UnsafeMutablePointer<Node>) {
    let none = Node.none
    func rename(_ n: UInt32) -> UInt32 { n == none ? none : renamed[Int(n)] }
    var nextWord = 0
    for (i, n) in order.enumerated() {
      var node = old[Int(n)]
      node.child0 = rename(node.child0)
      node.child1 = rename(node.child1)
      node.parent = rename(node.parent)
      if node.payload != none {
        if node.listClass == RadixSlotLists.inlineClass {
          holders[Int(node.payload)] = UInt32(i)  // the slot itself, kept in the node (either kind)
        } else if node.kind == .source {
          let from = Int(node.payload), size = 1 << Int(node.listClass)
          for k in 0..<size {
            let slot = oldWords[from &+ k]
            newWords[nextWord &+ k] = slot
            if slot != none { holders[Int(slot)] = UInt32(i) }
          }
          node.payload = UInt32(nextWord)
          nextWord &+= size
        } else {
          node.payload = renamed[Int(node.payload)]
        }
      }
      (copies + i).initialize(to: node)
    }
    precondition(nextWord == newWords.count, "RadixPolicyTree: list words in use miscounted")
  }

  /// Numbers the trie at `root` depth-first (child 0 first), appending its nodes to `order`.
  /// A static function with `inout` arrays, not a closure capturing them: captured `var`s
  /// are boxed and every access pays a dynamic exclusivity check.
  private static func _number(_ root: UInt32, _ old: UnsafeBufferPointer<Node>, _ renamed: UnsafeMutableBufferPointer<UInt32>,
                              _ order: inout [UInt32], _ stack: inout [UInt32]) {
    stack.append(root)
    while let n = stack.popLast() {
      if n == Node.none { continue }
      renamed[Int(n)] = UInt32(order.count)
      order.append(n)
      stack.append(old[Int(n)].child1)
      stack.append(old[Int(n)].child0)
    }
  }
}
