// RadixPolicyTree — the kernel's inexact policy bins, as two levels of radix tries.
//
// Idea
//   Per context byte (family, direction, type) a path-compressed binary trie on the
//   destination prefix; each of its nodes may hold a path-compressed binary trie on the
//   source prefix; each source node holds the slots of the policies whose (destination,
//   source) prefixes, masked to their lengths, are exactly that node's pair, in rank order
//   ((priority, position), lower first). Host bits written in a selector are masked off for
//   placement, so selectors differing only in host bits share a node. A destination prefix
//   with a single policy — most of them in the ClassBench 100k sets — has no source trie:
//   its node holds that policy's slot directly, and a lookup checks the rule's own source
//   prefix (one node and one dependent load less per such policy; the trie appears with the
//   prefix's second policy and goes back into the node when one is left).
//   A lookup walks the destination trie along the flow's destination address, collecting
//   the nodes whose prefix contains it and that have a source trie; then, deepest first, it
//   walks each of those source tries along the source address, collecting the nodes that
//   contain it and hold slots; their lists are scanned deepest first, each in rank order
//   until an entry's rank is no better than the best so far (nothing later in the list can
//   win) or an entry matches on the remaining fields (ports, protocol, mark, if_id, ifindex,
//   DSCP), which becomes the best. Every node caches the lowest priority value in its subtree
//   (for a destination node, including its source trie), and a walk skips what cannot beat
//   the best priority. Deepest first matters: longer prefixes usually carry the better
//   priorities (ClassBench, and strongSwan's automatic priorities), so the first match found
//   tends to prune the rest; on acl1_10k it halved the lookup time. The address match is
//   proved by the walk: each node's stored prefix is compared with the address, so a
//   path-compressed edge never lets a wrong address through.
//
// Mirrors the kernel, and differs
//   Linux (net/xfrm/xfrm_policy.c, since 5.0) keeps non-hashed policies in bins per (netns,
//   direction, type, family, if_id): a red-black tree of destination prefixes whose nodes hold
//   a list (any source) and a tree of source prefixes, a tree of source prefixes for
//   any-destination policies, and a list for any:any. Its tree nodes must be disjoint (an
//   overlapping insert merges nodes into the shorter prefix), so a descent finds one node per
//   level and a lookup scans at most four lists; to keep merging rare it treats prefixes
//   shorter than /16 (IPv4) or /48 (IPv6) as "any" for placement. A trie holds nested
//   prefixes natively, so this structure has no coarse class: every prefix, /0 included,
//   sits at its exact node, and a lookup scans every list on the two-level path (one per
//   nested prefix pair containing the addresses) with the same early exit the kernel uses
//   per list. Other differences: no exact hash in front (every policy is in the tries, which
//   gives the same answers: the hash only changes where a policy is stored), and the bins
//   are per context byte, not per if_id (if_id is checked per rule).
//
// Complexity (n policies, W = address width, 32 or 128; L = a list's length)
//   lookup: at most W + 1 destination nodes, and under each at most W + 1 source nodes, so
//     O(W²) node visits in the worst case (nested prefixes at every length on both sides);
//     on the ClassBench sets about 18 + 12 nodes and 2–3 rules at 10k policies, 25 + 5 and
//     1 at 100k (counted before single policies were held directly: fewer source nodes
//     now). Plus the list entries scanned before the early exit.
//   insert: one descent per level, at most two new nodes per level (a leaf, and a branch
//     where a compressed edge is split), O(log L) rank comparisons to place the slot plus an
//     O(L) word shift; minimum priorities are lowered on the way.
//     A new node comes from the free list, whose next node is prefetched for the next
//     insert (removals free nodes all over a large pool).
//   remove: no descent. A per-slot map names the node holding the slot (a source node, or
//     the destination node holding it directly); the slot leaves its list; a node left with
//     no slots and fewer than two children goes (with one child, the child takes its
//     place); then parent links lead up, refreshing minimum priorities where the removed
//     rule could have been the minimum, and the walk stops at the first ancestor whose link
//     and minimum are unchanged — usually at once. (A descent from the root read ~25 nodes
//     per removal at acl1_100k, each a dependent load.) The holder node and its parent are
//     prefetched as soon as the database knows the slot (`prepareToUnlink`), so those two
//     misses overlap the registry's. callgrind, acl1_100k: ~630 instructions per unlink,
//     ~1,800 per whole removal (registry included), ~9 misses of a 1 MB cache.
//     The insert's walk is a loop, not recursion.
//   No rebuilds. The storage is copied depth-first (O(nodes), about 8 ms at 100k policies)
//   when the pool has grown by half since the last copy, after changes for half its nodes,
//   or when half of it is free: amortised O(1) per change, like a hash table's growth. The
//   copy puts the destination tries first and each source trie in one piece, which is worth
//   15–30 % of a lookup.
//
// Memory
//   Nodes are plain structs in one pool per family (32 bytes with IPv4 keys — 27 of fields,
//   padded so that no node straddles two cache lines — and 48 with IPv6: prefix, two
//   children, payload, cached minimum, parent, length, list class, kind), linked by 32-bit
//   indexes, freed nodes reused from a free list; pools grow by an eighth, not by doubling,
//   on transparent huge pages from 2 MiB. A trie with k distinct prefixes has fewer than 2k
//   nodes, so at most about 4 nodes per policy; the ClassBench 100k sets need about 2
//   (with single policies held by their destination nodes: 1.96–2.02 nodes per policy,
//   70–80 bytes of index per policy with slack). A one-policy list is kept in its node (no list word: most lists at 100k
//   policies, and a lookup or removal there reads one line less); longer slot lists are
//   power-of-two runs in one shared array. Nodes cache the minimum *priority* rather than the full 16-byte rank:
//   it bounds every rank in the subtree from below and keeps IPv4 nodes small. The holder
//   map is 4 bytes per slot number (grown by a quarter). An emptied forest releases its
//   storage. Plus the shared `PolicyRegistry`.
//
// Good at / bad at
//   Kernel-like and predictable: lookup cost depends on prefix nesting along the two
//   addresses, not on n; inserts and removes cost one descent each, with no rebuild; nested
//   and overlapping prefixes, /0 and host routes need no special cases. Bad at policies that
//   differ only outside the addresses (ports, protocol, marks, if_ids): they share one list,
//   scanned linearly (e.g. thousands of 0.0.0.0/0 ↔ 0.0.0.0/0 policies that differ by
//   if_id). Not the fastest structure: every visited node is a dependent load, a lookup
//   visits every nested prefix, and at 100k policies most visits miss the L2 cache.
//
// Thread safety
//   A value type. Lookups do not mutate, allocate or touch reference counts (the walk's two
//   small stacks live on the machine stack); concurrent lookups on a tree that is not being
//   changed are safe. Changes need exclusive access (or a copy: the pools are copy-on-write
//   arrays).

/// The kernel's inexact policy bins as radix tries: per context, a path-compressed
/// destination trie of path-compressed source tries of rank-ordered slot lists. See the file
/// comment.
public struct RadixPolicyTree: SlotIndexedPolicyDatabase, Sendable {
  public var _registry = PolicyRegistry()
  public var _index = RadixIndex()

  public init() {}
}
