extension RadixForest {
  /// The longest slot list (a walk over the pool); a slot held directly counts as a list of one.
  var maximumListLength: Int {
    var longest = 0
    for node in _nodes where node.payload != Node.none {
      if node.kind == .source {
        longest = Swift.max(longest, _lists.count(start: node.payload, listClass: node.listClass))
      } else if node.holdsSlotDirectly {
        longest = Swift.max(longest, 1)
      }
    }
    return longest
  }

  /// Walks every trie and traps on a broken invariant (see `RadixIndex.checkInvariants`).
  /// `occurrences[slot]` is incremented for every listed slot.
  func checkInvariants(rules: LineAlignedArray<PolicyRule>, family: UInt8, occurrences: inout [Int]) {
    var destinationNodes = 0, sourceNodes = 0, listWords = 0
    for context in _roots.indices where _roots[context] != Node.none {
      precondition(UInt8(context) & 1 == family, "radix: context \(context) in the wrong family's forest")
      _ = _check(_roots[context], linkedFrom: Node.none, source: false, parent: nil, context: UInt8(context), destination: nil,
                 rules: rules, occurrences: &occurrences, destinationNodes: &destinationNodes,
                 sourceNodes: &sourceNodes, listWords: &listWords)
    }
    precondition(destinationNodes == destinationNodeCount && sourceNodes == sourceNodeCount,
                 "radix: node counters \(destinationNodeCount)/\(sourceNodeCount), walk found \(destinationNodes)/\(sourceNodes)")
    precondition(listWords == _lists.wordsInUse, "radix: list words in use \(_lists.wordsInUse), walk found \(listWords)")
    var free = 0
    var n = _freeNode
    while n != Node.none {
      precondition(_nodes[Int(n)].kind == .free, "radix: a live node on the free list")
      free += 1
      precondition(free <= _nodes.count, "radix: free list cycle")
      n = _nodes[Int(n)].child0
    }
    precondition(free + destinationNodes + sourceNodes == _nodes.count, "radix: pool nodes neither live nor free")
    var listed = 0
    for node in _nodes where node.payload != Node.none {
      if node.kind == .source {
        listed += _lists.count(start: node.payload, listClass: node.listClass)
      } else if node.holdsSlotDirectly {
        listed += 1
      }
    }
    precondition(_holders.lazy.filter { $0 != Node.none }.count == listed, "radix: holder entries for slots not listed")
  }

  /// Checks the subtree at `n` and returns its minimum priority.
  private func _check(_ n: UInt32, linkedFrom linker: UInt32, source: Bool, parent: (node: Node, side: Bool)?, context: UInt8,
                      destination: Node?, rules: LineAlignedArray<PolicyRule>, occurrences: inout [Int],
                      destinationNodes: inout Int, sourceNodes: inout Int, listWords: inout Int) -> UInt32 {
    precondition(Int(n) < _nodes.count, "radix: link to node \(n) outside the pool")
    let node = _nodes[Int(n)]
    precondition(node.kind == (source ? .source : .destination), "radix: node \(n) of kind \(node.kind) in a \(source ? "source" : "destination") trie")
    if source { sourceNodes += 1 } else { destinationNodes += 1 }
    precondition(node.parent == linker, "radix: node \(n) names \(node.parent) as its parent, linked from \(linker)")
    let length = Int(node.length)
    precondition(length <= Bits.bitWidth && node.prefix & ~Key.mask(length) == 0, "radix: node \(n) prefix not masked")
    if let parent {
      // The compressed edge: the child's prefix extends its parent's through the right side.
      precondition(length > Int(parent.node.length)
                   && Key.contains(parent.node.prefix, parent.node.length, node.prefix)
                   && Key.bit(node.prefix, Int(parent.node.length)) == parent.side,
                   "radix: node \(n) does not extend its parent")
    }
    precondition(node.isNeeded, "radix: removable node \(n) left in a trie")
    var minimum = UInt32.max
    if node.payload != Node.none {
      if source {
        let destination = destination!
        let count = _lists.count(start: node.payload, listClass: node.listClass)
        precondition(count > 0, "radix: empty slot list kept at node \(n)")
        precondition(node.listClass == RadixSlotLists.inlineClass || count > 1,
                     "radix: a one-slot list at node \(n) kept outside the node")
        listWords += RadixSlotLists.size(listClass: node.listClass)
        var previous: UInt64? = nil
        for (i, slot) in _lists.words(start: node.payload, listClass: node.listClass).enumerated() {
          if i >= count {
            precondition(slot == Node.none, "radix: slot after the padding of node \(n)'s list")
            continue
          }
          let rule = rules[Int(slot)]
          precondition(rule.context == context, "radix: slot \(slot) under the wrong context")
          precondition(Key.bits(rule.destinationBits) & Key.mask(Int(rule.destinationLength)) == destination.prefix
                       && rule.destinationLength == destination.length,
                       "radix: slot \(slot) under the wrong destination node")
          precondition(Key.bits(rule.sourceBits) & Key.mask(Int(rule.sourceLength)) == node.prefix
                       && rule.sourceLength == node.length, "radix: slot \(slot) under the wrong source node")
          if let previous { precondition(previous < rule.rank, "radix: list of node \(n) not strictly by rank") }
          previous = rule.rank
          minimum = Swift.min(minimum, rule.priority)
          occurrences[Int(slot)] += 1
          precondition(Int(slot) < _holders.count && _holders[Int(slot)] == n,
                       "radix: slot \(slot) listed at node \(n), its holder entry says otherwise")
        }
      } else if node.holdsSlotDirectly {
        let slot = node.payload
        precondition(Int(slot) < rules.count, "radix: direct slot \(slot) of node \(n) outside the registry")
        let rule = rules[Int(slot)]
        precondition(rule.context == context, "radix: slot \(slot) under the wrong context")
        precondition(Key.bits(rule.destinationBits) & Key.mask(Int(rule.destinationLength)) == node.prefix
                     && rule.destinationLength == node.length, "radix: direct slot \(slot) under the wrong destination node")
        minimum = rule.priority
        occurrences[Int(slot)] += 1
        precondition(Int(slot) < _holders.count && _holders[Int(slot)] == n,
                     "radix: slot \(slot) held directly by node \(n), its holder entry says otherwise")
      } else {
        precondition(node.listClass == 0, "radix: destination node \(n) with list class \(node.listClass)")
        minimum = _check(node.payload, linkedFrom: n, source: true, parent: nil, context: context, destination: node, rules: rules,
                         occurrences: &occurrences, destinationNodes: &destinationNodes, sourceNodes: &sourceNodes,
                         listWords: &listWords)
        let root = _nodes[Int(node.payload)]
        precondition(!root.isLoneSlot, "radix: a source trie of one slot under node \(n), not held directly")
      }
    }
    for side in [false, true] where node.child(side) != Node.none {
      minimum = Swift.min(minimum, _check(node.child(side), linkedFrom: n, source: source, parent: (node, side), context: context,
                                          destination: destination, rules: rules, occurrences: &occurrences,
                                          destinationNodes: &destinationNodes, sourceNodes: &sourceNodes,
                                          listWords: &listWords))
    }
    precondition(node.minPriority == minimum, "radix: node \(n) caches minimum priority \(node.minPriority), subtree has \(minimum)")
    return minimum
  }
}
